"""Resample: uniform collocation points drawn inside the jitted step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import make_learner, sine_data

BOX = of.Box({"x": (-1.0, 2.0), "t": (0.0, 1.0)})


def problem():
  return of.PDEProblem(lambda x, u, d: d["t"] - 0.1 * d["xx"], BOX,
                       [of.InitialCondition(lambda x: jnp.sin(x[0])), of.DirichletBC(0.0)])


def learner_for(p, seed=0):
  return of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), p, optax.adam(1e-3), seed=seed)


def test_points_change_only_at_multiples_of_every_and_stay_in_their_place():
  p = problem()
  data = p.sample(128, 32, 32)
  learner = learner_for(p)
  learner.fit(data, steps=5, callbacks=[cb.Resample(every=5, terms=["pde", "ic", "bc"])],
              verbose=0)
  np.testing.assert_array_equal(learner.data["pde"], data["pde"].astype(np.float32))  # steps 0-4
  learner.fit(data, steps=6, callbacks=[cb.Resample(every=5, terms=["pde", "ic", "bc"])],
              verbose=0)
  new = jax.device_get(learner.data)
  assert not np.any(np.all(new["pde"] == data["pde"], axis=1))
  assert np.all((new["pde"] >= BOX.low) & (new["pde"] <= BOX.high))
  np.testing.assert_array_equal(new["ic"][:, 1], 0.0)             # on t = 0
  assert not np.allclose(new["ic"][:, 0], data["ic"][:, 0])
  on_x_faces = np.isin(new["bc"][:, 0], [-1.0, 2.0])
  assert on_x_faces.all() and 0 < on_x_faces.sum() and len(set(new["bc"][:, 0])) == 2


def test_every_step_keeps_one_chunk_and_is_deterministic():
  p = problem()
  runs = []
  for _ in range(2):
    learner = learner_for(p)
    history = learner.fit(p.sample(64, 16, 16), steps=50, callbacks=[cb.Resample(every=1)],
                          verbose=0)
    assert history.steps == [50] and learner.trace_counts["chunk"] == 1
    runs.append(jax.device_get(learner.data["pde"]))
  np.testing.assert_array_equal(*runs)
  # uniform: the mean of 64 fresh points per step is near the centre of the box
  assert abs(runs[0][:, 0].mean() - 0.5) < 0.4


def test_a_resumed_fit_draws_what_an_uninterrupted_one_draws(tmp_path):
  p = problem()
  data = p.sample(64, 16, 16)
  full = learner_for(p)
  full.fit(data, steps=40, callbacks=[cb.Resample(every=3)], verbose=0)
  first = learner_for(p)
  first.fit(data, steps=20, callbacks=[cb.Resample(every=3), cb.Checkpoint(str(tmp_path), every=20)],
            verbose=0)
  resumed = learner_for(p)
  resumed.fit(data, steps=40, verbose=0,
              callbacks=[cb.Resample(every=3), cb.Checkpoint(str(tmp_path), every=20)])
  np.testing.assert_array_equal(jax.device_get(resumed.data["pde"]), jax.device_get(full.data["pde"]))
  for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(full.state.params)):
    np.testing.assert_array_equal(a, b)


def test_bad_terms_and_problems_are_refused_before_compiling():
  with pytest.raises(ValueError, match="every"):
    cb.Resample(every=0)
  p = problem()
  learner = learner_for(p)
  with pytest.raises(ValueError, match="term 'nope' cannot be resampled"):
    learner.fit(p.sample(16, 4, 4), steps=1, callbacks=[cb.Resample(terms="nope")], verbose=0)
  with pytest.raises(TypeError, match="PDEProblem"):
    make_learner().fit(sine_data(), steps=1, callbacks=[cb.Resample()], verbose=0)
  assert "chunk" not in learner.trace_counts
