"""HistoryRecorder: records ``learner.logs`` into ``learner.history`` (always on)."""

from __future__ import annotations

from opifex_fit.callbacks.base import ORDER_METRICS, Callback


class HistoryRecorder(Callback):
  """Appends one record of ``learner.logs`` at every chunk boundary.

  The learner adds one automatically; records accumulate across fits of the
  same learner (global steps), and ``fit`` returns ``learner.history``.
  """

  order = ORDER_METRICS
  every = None
  observer = True  # only reads logs: may run while the next chunk computes

  def on_step_end(self, learner):
    learner.history.record(learner.step, learner.logs)

  def on_validation_end(self, learner):
    # Validation values join the record of the same step.
    learner.history.record(learner.step, learner.logs)
