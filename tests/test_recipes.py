"""of.recipes.resampling_rounds: Wu et al.'s rounds with fresh optimizer states."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def poisson_learner():
  problem = of.PDEProblem(lambda x, u, d: d["xx"] + jnp.pi ** 2 * jnp.sin(jnp.pi * x[0]),
                          of.Interval("x", 0.0, 1.0),
                          output_transform=lambda x, u: x[0] * (1 - x[0]) * u)
  return problem, of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), problem)


class PhaseSpy(cb.Callback):
  """Records, at each fit's start, the optimizer state and the points."""

  def __init__(self):
    self.phases = []

  def on_fit_begin(self, learner):
    self.phases.append((jax.device_get(learner.state.opt_state),
                        np.asarray(learner.data["pde"]["points"] if isinstance(learner.data["pde"], dict)
                                   else learner.data["pde"])))


def test_every_phase_starts_from_fresh_optimizer_state_and_rounds_resample():
  problem, learner = poisson_learner()
  spy, lbfgs = PhaseSpy(), optax.lbfgs()
  records = of.recipes.resampling_rounds(
      learner, problem.sample(64), resampler=cb.RAD(every=1, pool_size=512), rounds=3,
      adam_steps=20, lbfgs_steps=20, lbfgs=lbfgs, callbacks=[spy])
  assert [r["round"] for r in records] == [0, 1, 2, 3]
  assert [r["step"] for r in records] == [40, 80, 120, 160]
  assert len(spy.phases) == 8
  fresh_lbfgs = jax.device_get(lbfgs.init(learner.state.params))
  for i, (opt_state, points) in enumerate(spy.phases):
    leaves = jax.tree.leaves(opt_state)
    if i % 2:  # L-BFGS: its memory is the init's (nothing carried across a resample)
      for a, b in zip(leaves, jax.tree.leaves(fresh_lbfgs)):
        np.testing.assert_array_equal(a, b)
      np.testing.assert_array_equal(points, spy.phases[i - 1][1])  # same points as its Adam phase
    else:  # Adam: zero moments
      assert all(np.all(np.asarray(a) == 0) for a in leaves)
  adam_points = [p for i, (_, p) in enumerate(spy.phases) if i % 2 == 0]
  assert all(not np.array_equal(a, b) for a, b in zip(adam_points, adam_points[1:]))
  assert learner.trace_counts["chunk"] == 2  # one chunk per optimizer, reused every round


def test_default_lbfgs_keeps_deepxdes_100_curvature_pairs():
  problem, learner = poisson_learner()
  spy = PhaseSpy()
  of.recipes.resampling_rounds(learner, problem.sample(32), rounds=1, adam_steps=10,
                               lbfgs_steps=10, callbacks=[spy])
  lbfgs_state = spy.phases[1][0][0]  # (ScaleByLBFGSState, ..., zoom linesearch state)
  memories = jax.tree.leaves(lbfgs_state.diff_params_memory)
  assert memories and all(np.shape(a)[0] == of.recipes.DEEPXDE_LBFGS_MEMORY == 100 for a in memories)
  assert np.shape(lbfgs_state.weights_memory) == (100,)


def test_rard_rounds_add_points_and_fixed_points_stay():
  problem, learner = poisson_learner()
  of.recipes.resampling_rounds(learner, problem.sample(32), rounds=2, adam_steps=20,
                               lbfgs_steps=0,
                               resampler=cb.RARD(every=1, n_add=8, capacity=64, pool_size=256,
                                                 verbose=0))
  assert int(np.sum(np.asarray(learner.data["pde"]["mask"]))) == 32 + 2 * 8
  problem, fixed = poisson_learner()
  data = problem.sample(32)
  of.recipes.resampling_rounds(fixed, data, rounds=2, adam_steps=20, lbfgs_steps=0)
  np.testing.assert_array_equal(np.asarray(fixed.data["pde"]), data["pde"].astype(np.float32))


def test_an_optimizer_set_again_reuses_its_chunk_and_a_new_one_gets_its_own():
  learner, data = make_learner(), sine_data(64)
  adam, sgd = optax.adam(1e-3), optax.sgd(0.1)
  for opt in (adam, sgd, adam, sgd):
    learner.optimizer = opt
    learner.fit(data, steps=10, verbose=0)
  assert learner.trace_counts["chunk"] == 2
  # a new optimizer object is never served another one's chunk: one plain SGD step
  before = jax.tree.map(jnp.array, learner.state.params)
  graphdef = nnx.graphdef(learner.model)
  x, y = (jnp.asarray(a) for a in data)
  grads = jax.grad(lambda p: jnp.mean((nnx.merge(graphdef, p)(x) - y) ** 2))(before)
  learner.optimizer = optax.sgd(0.5)
  learner.fit(data, steps=1, verbose=0)
  for a, p, g in zip(*(jax.tree.leaves(t) for t in (learner.state.params, before, grads))):
    np.testing.assert_allclose(a, p - 0.5 * g, rtol=1e-5, atol=1e-7)


def test_bad_arguments_are_refused():
  problem, learner = poisson_learner()
  with pytest.raises(ValueError, match="rounds must be a positive int"):
    of.recipes.resampling_rounds(learner, rounds=0)
  with pytest.raises(TypeError, match="resampler must be"):
    of.recipes.resampling_rounds(learner, rounds=1, resampler=cb.TerminateOnNaN())
  assert "chunk" not in learner.trace_counts
