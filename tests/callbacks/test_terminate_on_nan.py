"""cb.TerminateOnNaN: stops cleanly, naming the step and the bad terms."""
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit import callbacks as cb
from support import make_learner


def test_names_the_step_and_the_terms(capsys):
  guard = cb.TerminateOnNaN()
  learner = SimpleNamespace(step=40, stop_training=False,
                            logs={"loss": 1.0, "pde_loss": 0.5, "lr_scale": float("nan")})
  guard.on_fit_begin(learner)
  guard.on_step_end(learner)       # lr_scale is not a loss: nothing happens
  assert not learner.stop_training and guard.stopped_step is None
  learner.step, learner.logs = 80, {"loss": float("nan"), "pde_loss": float("inf"),
                                    "bc_loss": 0.1, "val_loss": 0.2}
  guard.on_step_end(learner)
  assert learner.stop_training and guard.stopped_step == 80
  assert list(guard.bad_terms) == ["loss", "pde_loss"]
  out = capsys.readouterr().out
  assert "step 80" in out and "pde_loss=inf" in out and "loss=nan" in out
  assert "bc_loss" not in out
  # Validation losses count too.
  other = cb.TerminateOnNaN()
  learner = SimpleNamespace(step=5, stop_training=False, logs={"loss": 1.0, "val_data_loss": np.nan})
  other.on_validation_end(learner)
  assert learner.stop_training and list(other.bad_terms) == ["val_data_loss"]


def test_poisoned_data_stops_the_fit_with_finite_weights(data, capsys):
  learner = make_learner()

  def poison(l):
    if l.step == 100:  # NaN targets from here on: every later update is non-finite
      x, y = l.data
      l.data = (x, jnp.full_like(y, jnp.nan))

  guard = cb.TerminateOnNaN()
  learner.fit(data, steps=500, steps_per_execution=50, verbose=0,
              callbacks=[guard, cb.LambdaCallback(on_step_end=poison, every=50)])
  assert guard.stopped_step == 150 == learner.step    # the first chunk with NaN loss
  assert "step 150" in capsys.readouterr().out and "data_loss" in guard.bad_terms
  assert np.isnan(learner.history.loss[-1]) and np.isfinite(learner.history.loss[1])
  assert all(np.isfinite(a).all() for a in jax.tree.leaves(learner.state.params))
  assert guard.order == -100
