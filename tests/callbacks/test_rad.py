"""cb.RAD: the density, sampling without replacement, planted residuals, no recompiles, resume."""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit.problems import device_sampling
from opifex_fit import callbacks as cb
from opifex_fit.callbacks import _residual_sampling as rs

sys.path.insert(0, os.path.dirname(__file__))
from residual_support import in_corner, planted_learner  # noqa: E402


def test_density_matches_the_hand_computation():
  # eps^2 = (0, 1, 9), mean 10/3: eps^k/mean = (0, .3, 2.7); + c = .5; / 4.5
  p = rs.density(jnp.array([0.0, 1.0, 3.0]), k=2.0, c=0.5)
  np.testing.assert_allclose(p, [0.5 / 4.5, 0.8 / 4.5, 3.2 / 4.5], rtol=1e-6)
  # k = 0 is uniform; all-zero residuals with c = 0 fall back to uniform too.
  np.testing.assert_allclose(rs.density(jnp.array([0.1, 5.0]), k=0.0, c=0.0), [0.5, 0.5])
  np.testing.assert_allclose(rs.density(jnp.zeros(4), k=1.0, c=0.0), [0.25] * 4)


def test_choice_is_without_replacement_with_successive_draw_probabilities():
  keys = jax.random.split(jax.random.key(0), 20_000)
  # Very concentrated p: with replacement index 0 would repeat; here all 4 are drawn.
  idx = jax.vmap(lambda k: rs.choose_without_replacement(k, jnp.array([.97, .01, .01, .01]), 4))(keys)
  assert np.all(np.sort(np.asarray(idx), axis=1) == np.arange(4))
  # Pairs from p = (.5, .3, .2): P({i, j}) = p_i p_j / (1 - p_i) + p_j p_i / (1 - p_j).
  idx = np.asarray(jax.vmap(lambda k: rs.choose_without_replacement(k, jnp.array([.5, .3, .2]), 2))(keys))
  left_out = 3 - idx.sum(axis=1)  # the pair {0,1} leaves out 2, etc.
  freq = np.bincount(left_out, minlength=3) / len(idx)
  expected = {2: .15 / .5 + .15 / .7, 1: .1 / .5 + .1 / .8, 0: .06 / .7 + .06 / .8}
  np.testing.assert_allclose(freq, [expected[0], expected[1], expected[2]], atol=0.012)


def test_pools_lie_where_their_term_lives():
  problem = of.PDEProblem(lambda x, u, d: d["t"] - d["xx"], of.Box({"x": (-1, 1), "t": (0, 2)}),
                          conditions=[of.DirichletBC(0.0, on="left"), of.InitialCondition(0.0)])
  key = jax.random.key(1)
  inside = device_sampling.term_sampler(problem, "pde")(key, 1000, jnp.float32)
  assert inside.shape == (1000, 2) and inside.dtype == jnp.float32
  assert np.all((inside[:, 0] > -1) & (inside[:, 0] < 1) & (inside[:, 1] >= 0) & (inside[:, 1] < 2))
  bc = np.asarray(device_sampling.term_sampler(problem, "bc")(key, 1000, jnp.float32))
  assert np.all(bc[:, 0] == -1) and bc[:, 1].min() < 0.1 and bc[:, 1].max() > 1.9
  ic = np.asarray(device_sampling.term_sampler(problem, "ic")(key, 1000, jnp.float32))
  assert np.all(ic[:, 1] == 0) and ic[:, 0].min() < -0.9 and ic[:, 0].max() > 0.9
  # Both faces of a box boundary, in proportion to their measure (equal here).
  box = of.PDEProblem(lambda x, u, d: u, of.Box({"x": (0, 1), "y": (0, 3)}),
                      conditions=[of.DirichletBC(0.0, on=["x_min", "y_max"])])
  pts = np.asarray(device_sampling.term_sampler(box, "bc")(key, 4000, jnp.float32))
  on_x_min, on_y_max = pts[:, 0] == 0, pts[:, 1] == 3
  assert np.all(on_x_min | on_y_max)
  assert abs(on_x_min.mean() - 0.75) < 0.03  # face x_min has length 3, y_max length 1


def test_rad_concentrates_points_on_the_planted_residual():
  learner, problem = planted_learner()
  data = problem.sample(400, 40, seed=0)
  assert abs(in_corner(data["pde"]).mean() - 0.04) < 0.03
  rad = cb.RAD(every=10, k=1.0, c=1.0, pool_size=20_000, chunk_size=4096)
  learner.fit(data, steps=30, verbose=0, callbacks=[rad])
  pts = np.asarray(learner.data["pde"])
  assert pts.shape == (400, 2) and learner.data["pde"].dtype == jnp.float32
  assert len(np.unique(pts, axis=0)) == 400  # without replacement
  # One draw lands in the corner with probability .04 * 26 / (.04 * 26 + .96) = .52
  # (corner weight 10 / .4 + 1 = 26, elsewhere 0 + 1).
  assert abs(in_corner(pts).mean() - 0.52) < 0.08
  # mean |residual| over the pool estimates 10 * 0.04 = 0.4; the max is 10.
  np.testing.assert_allclose(learner.history["rad_pde_residual"][-1], 0.4, atol=0.05)
  assert learner.history["rad_pde_max_residual"][-1] == 10.0
  assert learner.trace_counts["chunk"] == 1 and learner.trace_counts["rad_pde"] == 1
  # The loss of the next chunk is computed on the new points: ~ 100 * 0.52.
  assert learner.evaluate(learner.data)["pde_loss"] == pytest.approx(100 * in_corner(pts).mean(), rel=1e-5)


def test_rad_with_c_zero_puts_every_point_on_the_residual_and_redraws_each_time():
  learner, problem = planted_learner()
  rad = cb.RAD(every=5, k=1.0, c=0.0, pool_size=30_000, terms="pde")
  learner.fit(problem.sample(200, 40), steps=5, verbose=0, callbacks=[rad])
  first = np.asarray(learner.data["pde"]).copy()
  assert in_corner(first).all()
  learner.fit(problem.sample(200, 40), steps=5, verbose=0, callbacks=[rad])
  assert in_corner(np.asarray(learner.data["pde"])).all()
  assert not np.any(np.all(first[:, None] == np.asarray(learner.data["pde"])[None], axis=-1))


def test_rad_refuses_bad_options_before_compiling():
  with pytest.raises(ValueError, match=r"k must be a finite number >= 0; got -1"):
    cb.RAD(every=10, k=-1)
  with pytest.raises(ValueError, match=r"c must be .* got nan"):
    cb.RAD(every=10, c=float("nan"))
  with pytest.raises(ValueError, match=r"every must be a positive int .* got 0"):
    cb.RAD(every=0)
  with pytest.raises(ValueError, match=r"pool_size must be a positive int; got -5"):
    cb.RAD(every=10, pool_size=-5)
  learner, problem = planted_learner()
  data = problem.sample(300, 40)
  with pytest.raises(ValueError, match=r"'pdee'.*resamplable terms are \['pde', 'bc'\]"):
    learner.fit(data, steps=10, verbose=0, callbacks=[cb.RAD(every=10, terms=("pdee",))])
  with pytest.raises(ValueError, match=r"pool_size=100 is smaller than the 300 points of term 'pde'"):
    learner.fit(data, steps=10, verbose=0, callbacks=[cb.RAD(every=10, pool_size=100)])
  assert "chunk" not in learner.trace_counts
  with pytest.raises(TypeError, match=r"needs an of.PDEProblem"):
    x = np.zeros((8, 1), np.float32)
    of.Learner(of.models.MLP(1, [4, 1], rngs=nnx.Rngs(0)), of.Supervised()).fit(
        (x, x), steps=2, verbose=0, callbacks=[cb.RAD(every=1)])


def advection_learner(seed=0):
  """u_t + u_x / 2 = 0 on x in [0, 2] periodic, u(x, 0) = 2 + sin(pi x)."""
  problem = of.PDEProblem(
      lambda x, u, d: d["t"] + 0.5 * d["x"], of.Box({"x": (0, 2), "t": (0, 1)}),
      conditions=[of.PeriodicBC("x"), of.InitialCondition(lambda x: 2 + jnp.sin(jnp.pi * x[0]))])
  model = of.models.MLP(2, [16, 16, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, problem, optax.adam(2e-3), seed=seed), problem


def test_rad_rard_and_conservation_together_compile_each_function_once():
  learner, problem = advection_learner()
  callbacks = [cb.RAD(every=10, pool_size=2000), cb.RARD(every=20, n_add=16, capacity=80,
                                                         terms=("ic",), pool_size=500, verbose=0),
               cb.Conservation("mass", every=10, action="penalty", n_grid=16, times=5)]
  learner.fit(problem.sample(200, 32, 32), steps=60, verbose=0, callbacks=callbacks)
  assert learner.trace_counts == {"chunk": 1, "rad_pde": 1, "rard_ic": 1, "conservation": 1}
  assert learner.history["rard_points"][-1] == 80
  assert "conservation_mass_loss" in learner.history and "conservation_mass" in learner.history
  # A second fit with the same callbacks and shapes compiles nothing new.
  learner.fit(problem.sample(200, 32, 32), steps=20, verbose=0, callbacks=callbacks)
  assert learner.trace_counts == {"chunk": 1, "rad_pde": 1, "rard_ic": 1, "conservation": 1}


def test_resume_with_rad_is_exact(tmp_path):
  def run(directory, steps):
    learner, problem = planted_learner()
    saving = [] if directory is None else [
        cb.Checkpoint(directory, every=20, verbose=0, async_save=False)]
    learner.fit(problem.sample(128, 16), steps=steps, verbose=0,
                callbacks=[cb.RAD(every=10, pool_size=1000), *saving])
    return learner

  run(tmp_path / "a", 40)
  resumed = run(tmp_path / "a", 80)  # resumes at 40, ends at 80
  reference = run(None, 80)          # uninterrupted, no checkpoints written
  assert resumed.step == reference.step == 80
  for u, v in zip(jax.tree.leaves(jax.device_get((resumed.state.params, resumed.data))),
                  jax.tree.leaves(jax.device_get((reference.state.params, reference.data))), strict=True):
    np.testing.assert_array_equal(u, v)
  assert resumed.history["rad_pde_residual"] == reference.history["rad_pde_residual"]


def test_the_burgers_example_runs_on_a_tiny_budget():
  import importlib.util
  path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "burgers_rad.py")
  spec = importlib.util.spec_from_file_location("burgers_rad", path)
  example = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(example)
  error, _, n_points = example.run("RAR-D", adam_steps=20, lbfgs_steps=0, every=10, seed=0,
                                   pool_size=3000)
  assert n_points == example.N_RESIDUAL and 0 < error < 2
