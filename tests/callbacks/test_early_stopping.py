"""EarlyStopping against the cases of Keras's own test suite."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def drive(stopper, learner, values, monitor="val_loss"):
  """Feeds one monitored value per check; weights are set to the check index."""
  stopper.on_fit_begin(learner)
  checks = 0
  for i, value in enumerate(values):
    checks += 1
    learner.step = i
    learner.state = learner.state.replace(
        params=jax.tree.map(lambda p: jnp.full_like(p, i), learner.state.params))
    learner.logs = {monitor: value}
    (stopper.on_validation_end if monitor.startswith("val_") else stopper.on_epoch_end)(learner)
    if learner.stop_training:
      break
  stopper.on_fit_end(learner)
  return checks


def weight_index(learner):
  return float(jax.tree.leaves(learner.state.params)[0].ravel()[0])


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_patience(patience):
  learner = make_learner()
  stopper = cb.EarlyStopping(monitor="loss", patience=patience)
  drive(stopper, learner, [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5], monitor="loss")
  assert stopper.stopped_step == max(patience, 1) + 2  # Keras: stopped_epoch


def test_restore_best_weights():
  learner = make_learner()
  stopper = cb.EarlyStopping(patience=2, restore_best_weights=True)
  drive(stopper, learner, [0.2, 0.15, 0.1, 0.11, 0.12])
  assert weight_index(learner) == 2


def test_baseline_never_beaten_stops_after_patience_and_restores_best():
  learner = make_learner()
  stopper = cb.EarlyStopping(patience=5, baseline=0.5, restore_best_weights=True)
  checks = drive(stopper, learner, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73])
  assert checks == 5
  assert weight_index(learner) == 2


def test_restores_best_weights_even_without_stopping():
  learner = make_learner()
  stopper = cb.EarlyStopping(patience=10, restore_best_weights=True)
  drive(stopper, learner, [0.5, 0.1, 0.3, 0.4])
  assert not learner.stop_training and weight_index(learner) == 1


def test_min_delta_ignores_small_improvements():
  learner = make_learner()
  stopper = cb.EarlyStopping(patience=1, min_delta=0.1)
  drive(stopper, learner, [1.0, 0.95, 0.92, 0.5])
  assert stopper.stopped_step == 1  # 0.95 does not beat 1.0 by more than 0.1


def test_max_mode_from_name_and_start_from_step():
  stopper = cb.EarlyStopping(monitor="val_accuracy")
  assert stopper.mode == "max"
  learner = make_learner()
  late = cb.EarlyStopping(monitor="loss", patience=0, start_from_step=3)
  drive(late, learner, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], monitor="loss")
  assert late.stopped_step == 4  # checks start at step 3: 4.0 best, then 5.0


def test_state_dict_round_trip():
  a = cb.EarlyStopping(patience=3)
  a.on_fit_begin(None)
  a.wait, a.best, a.checks, a.best_step = 2, 0.25, 7, 400
  b = cb.EarlyStopping(patience=3)
  b.load_state_dict(a.state_dict())
  assert b.state_dict() == a.state_dict() == {
      "wait": 2, "checks": 7, "best": 0.25, "best_step": 400, "stopped_step": 0}


def test_stops_a_real_fit_on_validation_and_restores():
  learner = make_learner(lr=3e-2)
  stopper = cb.EarlyStopping(patience=2, restore_best_weights=True, min_delta=1e9)
  h = learner.fit(sine_data(), epochs=50, batch_size=32, validation_data=sine_data(32, 1),
                  callbacks=[stopper], verbose=0)
  # Nothing beats the first check by 1e9: stop at the 3rd validation (epoch 3).
  assert stopper.stopped_step == 12 and learner.step == 12
  best = h.val_loss[h.steps.index(4)]
  np.testing.assert_allclose(learner.evaluate(sine_data(32, 1))["loss"], best, rtol=1e-5)
