"""cb.RARD: a fixed-capacity masked buffer that grows where the residual is, then stops."""
import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from opifex_fit import callbacks as cb

sys.path.insert(0, os.path.dirname(__file__))
from residual_support import in_corner, planted_learner  # noqa: E402


def test_rard_grows_the_mask_up_to_capacity_and_stops(capsys):
  learner, problem = planted_learner()
  data = problem.sample(40, 20, seed=3)
  start = np.asarray(data["pde"], np.float32)
  rard = cb.RARD(every=10, n_add=30, capacity=100, pool_size=5000)
  learner.fit(data, steps=50, verbose=0, callbacks=[rard])
  # 40 -> 70 -> 100, then full: nothing more is added (and nothing recompiles).
  assert learner.history["rard_points"] == [70.0, 100.0, 100.0, 100.0, 100.0]
  assert learner.trace_counts == {"chunk": 1, "rard_pde": 1}
  buf = learner.data["pde"]
  assert buf["points"].shape == (100, 2) and buf["points"].dtype == jnp.float32
  assert buf["mask"].dtype == jnp.bool_ and bool(buf["mask"].all())
  pts = np.asarray(buf["points"])
  np.testing.assert_array_equal(pts[:40], start)  # RAR-D keeps the old points
  # k=2, c=0: the density is zero outside the planted corner.
  assert in_corner(pts[40:]).all() and len(np.unique(pts[40:], axis=0)) == 60
  out = capsys.readouterr().out
  assert out.count("reached capacity=100") == 1 and "step 20" in out


def test_the_loss_is_the_masked_mean_over_active_points():
  learner, problem = planted_learner()
  data = problem.sample(50, 20, seed=1)
  k0 = int(in_corner(np.asarray(data["pde"])).sum())
  learner.fit(data, steps=10, verbose=0,
              callbacks=[cb.RARD(every=10, n_add=25, capacity=200, pool_size=5000)])
  mask = np.asarray(learner.data["pde"]["mask"])
  assert mask.sum() == 75 and mask[:75].all() and not mask[75:].any()
  # residual^2 is 100 in the corner and 0 elsewhere; the 125 inactive rows do not count.
  assert learner.evaluate(learner.data)["pde_loss"] == pytest.approx(100 * (k0 + 25) / 75, rel=1e-5)


def test_a_later_fit_on_learner_data_keeps_growing_the_same_buffer():
  learner, problem = planted_learner()
  rard = cb.RARD(every=10, n_add=10, capacity=60, pool_size=1000, verbose=0)
  learner.fit(problem.sample(20, 20), steps=20, verbose=0, callbacks=[rard])
  learner.fit(learner.data, steps=10, verbose=0, callbacks=[rard])
  assert learner.history["rard_points"] == [30.0, 40.0, 50.0]
  assert learner.trace_counts["chunk"] == 1 and learner.trace_counts["rard_pde"] == 1


def test_rard_refuses_bad_options():
  with pytest.raises(ValueError, match=r"n_add must be a positive int; got None"):
    cb.RARD(every=10, capacity=100)
  with pytest.raises(ValueError, match=r"k must be a finite number >= 0; got -2"):
    cb.RARD(every=10, k=-2, n_add=5, capacity=100)
  with pytest.raises(ValueError, match=r"every must be a positive int .* got -1"):
    cb.RARD(every=-1, n_add=5, capacity=100)
  with pytest.raises(ValueError, match=r"pool_size=10 is smaller than n_add=20"):
    cb.RARD(every=10, n_add=20, capacity=100, pool_size=10)
  learner, problem = planted_learner()
  data = problem.sample(300, 40)
  with pytest.raises(ValueError, match=r"capacity=100 is smaller than the 300 points term 'pde'"):
    learner.fit(data, steps=10, verbose=0, callbacks=[cb.RARD(every=10, n_add=5, capacity=100)])
  with pytest.raises(ValueError, match=r"'ic'.*resamplable terms are \['pde', 'bc'\]"):
    learner.fit(data, steps=10, verbose=0,
                callbacks=[cb.RARD(every=10, n_add=5, capacity=400, terms=("ic",))])
  assert "chunk" not in learner.trace_counts
