"""The order and cadence of events, the stop flag, failures."""

import pytest

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


class Recorder(cb.Callback):
  def __init__(self, log, name="r", every=None, order=0):
    self.log, self.name, self.every, self.order = log, name, every, order

  def _add(self, event, learner):
    self.log.append((self.name, event, learner.step))

  def on_fit_begin(self, l): self._add("fit_begin", l)
  def on_epoch_begin(self, l): self._add("epoch_begin", l)
  def on_step_end(self, l): self._add("step_end", l)
  def on_epoch_end(self, l): self._add("epoch_end", l)
  def on_validation_end(self, l): self._add("validation_end", l)
  def on_fit_end(self, l): self._add("fit_end", l)
  def on_exception(self, l, e): self.log.append((self.name, "exception", type(e).__name__))


def test_event_order_and_cadence():
  log = []
  learner = make_learner()
  learner.fit(sine_data(64), epochs=4, batch_size=32, validation_data=sine_data(16, 1),
              callbacks=[Recorder(log, every=4)], verbose=0)
  events = [(e, s) for _, e, s in log]
  # 2 steps per epoch; chunk = gcd(4, 2) = 2; step_end due at 4 and 8.
  assert events == [
      ("fit_begin", 0), ("epoch_begin", 0),
      ("validation_end", 2), ("epoch_end", 2), ("epoch_begin", 2),
      ("step_end", 4), ("validation_end", 4), ("epoch_end", 4), ("epoch_begin", 4),
      ("validation_end", 6), ("epoch_end", 6), ("epoch_begin", 6),
      ("step_end", 8), ("validation_end", 8), ("epoch_end", 8),
      ("fit_end", 8)]


def test_callbacks_run_in_order_stably():
  log = []
  cbs = [Recorder(log, "late", order=50), Recorder(log, "first", order=-5),
         Recorder(log, "a", order=0), Recorder(log, "b", order=0)]
  make_learner().fit(sine_data(), steps=10, callbacks=cbs, verbose=0)
  names = [n for n, e, _ in log if e == "fit_begin"]
  assert names == ["first", "a", "b", "late"]


def test_stop_training_stops_at_the_chunk_boundary():
  stopper = cb.LambdaCallback(on_step_end=lambda l: setattr(l, "stop_training", l.step >= 30),
                              every=10)
  learner = make_learner()
  h = learner.fit(sine_data(), steps=1000, callbacks=[stopper], verbose=0)
  assert learner.step == 30 and h.steps[-1] == 30


def test_on_fit_end_runs_after_an_exception():
  log = []
  def boom(learner):
    if learner.step == 20:
      raise RuntimeError("boom")
  learner = make_learner()
  with pytest.raises(RuntimeError, match="boom"):
    learner.fit(sine_data(), steps=100, verbose=0,
                callbacks=[cb.LambdaCallback(on_step_end=boom, every=10), Recorder(log, order=5)])
  assert ("r", "exception", "RuntimeError") in log
  assert log[-1] == ("r", "fit_end", 20)
  assert learner.step == 20


def test_lambda_callback_refuses_unknown_hooks():
  with pytest.raises(ValueError, match="on_batch_end"):
    cb.LambdaCallback(on_batch_end=print)
