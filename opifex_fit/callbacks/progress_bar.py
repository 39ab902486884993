"""ProgressBar: a live bar with step, loss, steps/s and ETA (rich)."""

from __future__ import annotations

import time

from opifex_fit.callbacks.base import ORDER_LOGGER, Callback

MODES = ("bar", "lines")


def format_logs(logs, keys=None) -> str:
  keys = keys or [k for k in logs if k == "loss" or k.startswith("val_loss")]
  return "  ".join(f"{k}={logs[k]:.4g}" for k in keys if k in logs)


class ProgressBar(Callback):
  """Shows progress at every chunk boundary; never forces a per-step sync.

  The learner adds one when ``verbose=1`` (``mode="bar"``) or ``verbose=2``
  (``mode="lines"``: one printed line per record, for log files).

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> bar = cb.ProgressBar(keys=["loss", "pde_loss", "val_loss"])

  Args:
    mode: "bar" (a rich live bar) or "lines" (plain printed lines).
    keys: log names shown (default ``loss`` and ``val_loss``).
  """

  order = ORDER_LOGGER
  every = None
  observer = True  # only reads logs: may run while the next chunk computes

  def __init__(self, mode: str = "bar", keys=None):
    if mode not in MODES:
      raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    self.mode, self.keys = mode, keys
    self._progress = None

  def on_fit_begin(self, learner):
    import jax  # noqa: PLC0415
    # Under jax.distributed every process runs the loop; only process 0 shows it.
    self._silent = jax.process_index() != 0
    self._start_step, self._start_time = learner.step, time.perf_counter()
    self._total = None
    if self.mode == "bar" and not self._silent:
      from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                 TimeElapsedColumn, TimeRemainingColumn)
      self._progress = Progress(
          TextColumn("[bold]fit"), BarColumn(), MofNCompleteColumn(),
          TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
          TextColumn("{task.fields[logs]}"), transient=False)
      self._progress.start()
      self._task = None

  def _rate(self, learner) -> str:
    elapsed = time.perf_counter() - self._start_time
    done = learner.step - self._start_step
    return f"{done / elapsed:,.0f} steps/s" if elapsed > 0 and done else ""

  def on_step_end(self, learner):
    if self._silent:
      return
    logs = format_logs(learner.logs, self.keys)
    if self.mode == "lines":
      print(f"step {learner.step}  {logs}  {self._rate(learner)}", flush=True)
      return
    if self._task is None:
      # The target is only known to the loop; the first call infers it from the fit.
      total = getattr(learner, "target_step", learner.step)
      self._task = self._progress.add_task("fit", total=total - self._start_step,
                                           rate="", logs="")
    self._progress.update(self._task, completed=learner.step - self._start_step,
                          rate=self._rate(learner), logs=logs)

  def on_validation_end(self, learner):
    if self.mode == "bar" and not self._silent and self._task is not None:
      self._progress.update(self._task, logs=format_logs(learner.logs, self.keys))

  def on_fit_end(self, learner):
    if self._progress is not None:
      self._progress.stop()
      self._progress = None
