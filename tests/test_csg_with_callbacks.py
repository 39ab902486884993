"""A plate with holes under the callbacks that sample or integrate over the
domain: Resample (every step, exact resume), RAD, RAR-D, Conservation and
PlotSolution; one chunk compile throughout."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

PLATE = of.Box({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, name="plate") - of.Disk((0.3, 0.0), 0.4, name="hole")


def plate_problem():
  return of.PDEProblem(lambda x, u, d: d["xx"] + d["yy"] + 1.0, PLATE,
                       [of.DirichletBC(0.0, on="plate"), of.NeumannBC(0.0, on="hole", name="rim")])


def learner_for(problem, seed=0):
  return of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), problem, optax.adam(1e-3), seed=seed)


def inside_plate(points, atol=1e-5):
  p = np.asarray(points)
  in_box = np.all(np.abs(p) <= 1 + atol, axis=1)
  return in_box & (np.linalg.norm(p - [0.3, 0.0], axis=1) >= 0.4 - atol)


def test_resample_every_step_on_a_plate_keeps_one_chunk_and_valid_points():
  p = plate_problem()
  learner = learner_for(p)
  history = learner.fit(p.sample(128, 32), steps=30, verbose=0,
                        callbacks=[cb.Resample(every=1, terms=["pde", "bc", "rim"])])
  assert history.steps == [30] and learner.trace_counts["chunk"] == 1
  data = jax.device_get(learner.data)
  assert inside_plate(data["pde"]).all()
  np.testing.assert_allclose(np.linalg.norm(data["rim"] - [0.3, 0.0], axis=1), 0.4, atol=1e-5)
  assert np.allclose(np.abs(data["bc"]).max(axis=1), 1.0, atol=1e-6)   # on the square's faces


def test_resample_on_a_plate_resumes_bit_exactly(tmp_path):
  p = plate_problem()
  data = p.sample(64, 16)
  full = learner_for(p)
  full.fit(data, steps=20, callbacks=[cb.Resample(every=1)], verbose=0)
  first = learner_for(p)
  first.fit(data, steps=10, verbose=0,
            callbacks=[cb.Resample(every=1), cb.Checkpoint(str(tmp_path), every=10)])
  resumed = learner_for(p)
  resumed.fit(data, steps=20, verbose=0,
              callbacks=[cb.Resample(every=1), cb.Checkpoint(str(tmp_path), every=10)])
  np.testing.assert_array_equal(jax.device_get(resumed.data["pde"]), jax.device_get(full.data["pde"]))
  for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(full.state.params)):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("callback", [cb.RAD(every=10, pool_size=512),
                                      cb.RARD(every=10, n_add=8, capacity=96, pool_size=512)])
def test_residual_based_sampling_draws_inside_the_plate(callback):
  p = plate_problem()
  learner = learner_for(p)
  learner.fit(p.sample(64, 16), steps=20, callbacks=[callback], verbose=0)
  pts = jax.device_get(learner.data["pde"])
  pts = pts["points"][pts["mask"]] if isinstance(pts, dict) else pts
  assert inside_plate(pts).all() and learner.trace_counts["chunk"] == 1


def test_conservation_integrates_over_the_plate_only():
  """Mass of u = 1 over the square minus the hole: 4 - pi 0.4^2 (first-order rim)."""
  domain = PLATE * of.Interval("t", 0.0, 1.0)
  law = cb.Conservation({"mass": "mass"}, n_grid=200, times=2, domain=domain)
  one = lambda m, x: jnp.ones((x.shape[0], 1))
  q = law.quantities(None, domain, predict=one)["mass"]
  np.testing.assert_allclose(q[:, 0], 4 - np.pi * 0.16, rtol=5e-3)


def test_plot_solution_blanks_the_hole(tmp_path):
  pytest.importorskip("matplotlib")
  p = plate_problem()
  learner = learner_for(p)
  plot = cb.PlotSolution(str(tmp_path), grid=21, tensorboard=False)
  learner.fit(p.sample(64, 16), steps=5, callbacks=[plot], verbose=0)
  fields = plot.fields(learner)
  hole = np.linalg.norm(plot.points - [0.3, 0.0], axis=1) < 0.39
  assert np.isnan(fields["solution"][hole]).all() and np.isfinite(fields["solution"][~hole]).all()
  assert (tmp_path / "solution.png").exists()
