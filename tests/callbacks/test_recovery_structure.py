"""cb.LossExplosionRecovery never restores a snapshot of another structure (issue 12, H2)."""
import os
import sys

import jax
import jax.numpy as jnp
import optax
import pytest
from flax import nnx
from support import make_learner, sine_data

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.engine.state import scalar

sys.path.insert(0, os.path.dirname(__file__))
from residual_support import planted_learner


class At(cb.Callback):
  """Runs ``fn(learner)`` at the boundaries in ``steps`` (every 20 steps), after the guard."""

  every = 20

  def __init__(self, steps, fn):
    self.steps, self.fn = steps, fn

  def on_step_end(self, learner):
    if learner.step in self.steps:
      self.fn(learner)


def spike(learner):
  learner.state = learner.state.replace(lr_scale=scalar(1e4, jnp.float32))


def poison(learner):  # a NaN loss whatever the optimizer does with it
  x, y = learner.state.data
  learner.state = learner.state.replace(data=(x, jnp.full_like(y, jnp.nan)))


def same_structure(a, b):
  return jax.tree.structure(a) == jax.tree.structure(b) and all(
      u.shape == v.shape and u.dtype == v.dtype
      for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


@pytest.mark.parametrize("optimizer", [optax.lbfgs(), optax.sgd(1e-2)], ids=["lbfgs", "sgd"])
def test_a_rollback_after_an_optimizer_switch_keeps_the_new_optimizer(optimizer):
  guard = cb.LossExplosionRecovery(snapshot_every=20, verbose=0)
  learner = make_learner()
  learner.fit(sine_data(), steps=200, verbose=0, callbacks=[
      guard, cb.SwitchOptimizer(100, optimizer), At({100}, poison)])
  assert guard.rollbacks == 1 and learner.step == 200 and not learner.stop_training
  assert learner.lr_scale == 0.5
  # The optimizer state is the new optimizer's, never Adam's from before the switch.
  fresh = learner.optimizer.init(learner.state.params)
  assert same_structure(learner.state.opt_state, fresh)
  assert jnp.isfinite(learner.evaluate(sine_data())["loss"])


def test_a_rollback_right_after_rard_enlarged_its_buffer():
  guard = cb.LossExplosionRecovery(snapshot_every=20, verbose=0)
  learner, problem = planted_learner()
  learner.fit(problem.sample(40, 20, seed=3), steps=80, verbose=0, callbacks=[
      # Its buffer is enlarged at fit start; no refinement within these 80 steps.
      guard, cb.RARD(every=100, n_add=10, capacity=100, pool_size=500, verbose=0),
      At({20}, spike)])
  assert guard.rollbacks == 1 and learner.step == 80
  assert learner.data["pde"]["points"].shape == (100, 2)


def test_a_rollback_right_after_conservation_added_its_penalty_term():
  box = of.Box({"x": (0, 2), "t": (0, 1)})
  problem = of.PDEProblem(lambda x, u, d: d["t"] + 0.5 * d["x"], box, conditions=[
      of.PeriodicBC("x"), of.InitialCondition(lambda x: 2 + jnp.sin(jnp.pi * x[0]))])
  learner = of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), problem, optax.adam(2e-3))
  guard = cb.LossExplosionRecovery(snapshot_every=20, verbose=0)
  learner.fit(problem.sample(64, 8, 8), steps=80, verbose=0, callbacks=[
      guard, cb.Conservation("mass", every=20, action="penalty", n_grid=8, times=3),
      At({20}, spike)])
  assert guard.rollbacks == 1 and learner.step == 80
  assert "conservation_mass" in learner.loss_weights
