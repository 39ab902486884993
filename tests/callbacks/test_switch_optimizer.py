import jax
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


def make_learner():
  x = np.linspace(-1, 1, 64)[:, None]
  learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"),
                       optax.adam(1e-2))
  return learner, (x, np.sin(3 * x))


def test_adam_then_lbfgs_recompiles_once_and_keeps_improving():
  learner, data = make_learner()
  switch = cb.SwitchOptimizer(at_step=50, optimizer=optax.lbfgs())
  history = learner.fit(data, steps=150, callbacks=[switch], verbose=0, steps_per_execution=25)
  assert switch.switched and learner.optimizer is not None
  assert learner.trace_counts["chunk"] == 2           # once for Adam, once at the switch
  at_switch = history["loss"][history.steps.index(50)]
  assert history["loss"][-1] < 0.1 * at_switch        # L-BFGS polishes far below Adam's loss
  assert switch.state_dict() == {"switched": True}
  learner.fit(data, steps=50, callbacks=[switch], verbose=0, steps_per_execution=25)
  assert learner.trace_counts["chunk"] == 2           # no recompilation after the switch


def test_fit_starting_past_the_switch_switches_before_compiling():
  learner, data = make_learner()
  learner.fit(data, steps=20, verbose=0)
  switch = cb.SwitchOptimizer(10, optax.lbfgs())
  learner.fit(data, steps=20, callbacks=[switch], verbose=0)
  assert switch.switched and learner.trace_counts["chunk"] == 2
  restored = cb.SwitchOptimizer(10, optax.lbfgs())
  restored.load_state_dict({"switched": True})
  assert restored.switched


def test_bad_arguments():
  with pytest.raises(ValueError, match="at_step must be a positive int"):
    cb.SwitchOptimizer(0, optax.lbfgs())
  with pytest.raises(TypeError, match="optax.GradientTransformation"):
    cb.SwitchOptimizer(10, "lbfgs")


def test_resume_after_the_switch_restores_the_lbfgs_state(tmp_path):
  from support import make_learner, sine_data
  data = sine_data(64)

  def run(steps, directory):
    learner = make_learner()
    saving = [] if directory is None else [cb.Checkpoint(directory, every=50, async_save=False)]
    learner.fit(data, steps=steps, verbose=0, steps_per_execution=25,
                callbacks=[cb.SwitchOptimizer(50, optax.lbfgs()), *saving])
    return learner

  straight = run(150, None)                # the reference writes no checkpoints
  run(100, tmp_path / "b")                 # stops after the switch, at step 100
  resumed = run(150, tmp_path / "b")       # a fresh process-like learner resumes
  assert resumed.step == 150
  for a, b in zip(jax.tree.leaves(straight.state.params), jax.tree.leaves(resumed.state.params)):
    np.testing.assert_array_equal(a, b)
