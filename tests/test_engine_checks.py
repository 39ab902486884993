"""Engine refusals that must come before anything compiles (issue 12: L2, L4,
L6, M5): each one names the argument, the bad value and what was expected."""
import numpy as np
import pytest
from support import make_learner, sine_data

import opifex_fit as of
from opifex_fit import callbacks as cb


@pytest.mark.parametrize("bad", [-5, float("nan"), float("inf"), np.float32("-inf")])
def test_loss_weights_refuse_negative_and_non_finite_values(bad):
  learner = make_learner()
  with pytest.raises(ValueError, match=r"loss_weights\['data'\] must be a non-negative float"):
    learner.loss_weights["data"] = bad
  with pytest.raises(ValueError, match=r"weight \(of loss term 'extra'\) must be a non-neg"):
    learner.add_loss_term("extra", lambda model, data: 0.0, weight=bad)
  assert learner.loss_weights == {"data": 1.0}  # nothing was written


def test_loss_weights_refuse_non_numbers_and_accept_numpy_scalars():
  learner = make_learner()
  for bad in ("1", True, [1.0], np.ones(2)):
    with pytest.raises(TypeError, match=r"loss_weights\['data'\] must be a non-negative float"):
      learner.loss_weights["data"] = bad
  learner.loss_weights["data"] = np.float32(0.25)
  assert learner.loss_weights["data"] == 0.25


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1e-3, np.float64(-2)])
def test_lr_scale_refuses_inf_nan_and_negative(bad):
  learner = make_learner()
  with pytest.raises(ValueError, match="lr_scale must be a non-negative float"):
    learner.lr_scale = bad
  assert learner.lr_scale == 1.0


def test_lr_scale_accepts_numpy_and_array_scalars():
  learner = make_learner()
  learner.lr_scale = np.float32(0.5)
  assert learner.lr_scale == 0.5
  learner.lr_scale = np.array(0.25)
  assert learner.lr_scale == 0.25
  learner.lr_scale = 0  # a frozen model is allowed
  assert learner.lr_scale == 0.0


def test_predict_with_the_wrong_number_of_features_names_both_shapes():
  learner = make_learner()
  learner.fit(sine_data(), steps=5, verbose=0)
  with pytest.raises(ValueError, match=r"x of shape \(7, 3\).*\(128, 1\)"):
    learner.predict(np.zeros((7, 3), np.float32))
  with pytest.raises(ValueError, match=r"x of shape \(7, 3\)"):  # minibatched too
    learner.predict(np.zeros((7, 3), np.float32), batch_size=2)
  assert learner.trace_counts.get("predict", 0) == 0  # refused before compiling
  assert learner.predict(np.zeros((7, 1), np.float32)).shape == (7, 1)
  assert learner.trace_counts["predict"] == 1  # the check shares jit's trace cache


def test_predict_before_fit_still_refuses_bad_shapes():
  with pytest.raises(ValueError, match=r"x of shape \(2, 5\) does not fit the model"):
    make_learner().predict(np.zeros((2, 5), np.float32))


class Every(cb.Callback):
  def __init__(self, every):
    self.every = every


def test_explicit_steps_per_execution_is_a_cap_not_a_divisor():
  learner, seen = make_learner(), []
  probe = cb.LambdaCallback(on_step_end=lambda l: seen.append(l.step), every=200)
  history = learner.fit(sine_data(), steps=600, steps_per_execution=150, verbose=0,
                        callbacks=[probe])
  # Chunks end at the cap (150) and at every multiple of 200: 150, 200, 350, 400, 550, 600.
  assert seen == [200, 400, 600] and history.steps == [150, 200, 350, 400, 550, 600]
  # Epochs of 4 steps (128 examples, batch 32), cap 3, a cadence of 6: validation
  # once per epoch runs exactly at the epoch ends, never late.
  history = learner.fit(sine_data(), epochs=3, batch_size=32, steps_per_execution=3,
                        verbose=0, validation_data=sine_data(32), callbacks=[Every(6)])
  assert learner.step == 612 and history.steps[6:] == [603, 604, 606, 608, 611, 612]
  assert [s for s, v in zip(history.steps, history.val_loss) if not np.isnan(v)] == \
      [604, 608, 612]
  assert learner.trace_counts["chunk"] == 2  # full batch, then minibatches: one each


@pytest.mark.parametrize("make", [
    lambda tmp: cb.GradNorm(every=10), lambda tmp: cb.LRAnnealing(every=10),
    lambda tmp: cb.NTKDiagnostics(every=10), lambda tmp: cb.RAD(every=10),
    lambda tmp: cb.RARD(every=10, n_add=4, capacity=64), lambda tmp: cb.TensorBoard(tmp, histograms=True)])
def test_callbacks_that_read_device_data_refuse_streamed_data(tmp_path, make):
  callback, learner = make(tmp_path), make_learner()
  name = type(callback).__name__
  with pytest.raises(ValueError, match=rf"callbacks \['{name}'\] need the training data on the "
                     r"device \(learner\.data\), but this fit streams it from a HostDataset"):
    learner.fit(of.HostDataset(sine_data()), steps=20, batch_size=32, verbose=0,
                callbacks=[callback])
  assert learner.step == 0 and not learner.trace_counts


def test_tensorboard_scalars_stream_fine(tmp_path):
  learner = make_learner()
  learner.fit(of.HostDataset(sine_data()), steps=8, batch_size=32, verbose=0,
              callbacks=[cb.TensorBoard(tmp_path, every=4)])
  assert learner.step == 8
