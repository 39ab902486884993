"""TerminateOnNaN: stop cleanly when a loss goes non-finite."""

from __future__ import annotations

import math

from opifex_fit.callbacks.base import ORDER_GUARD, Callback


class TerminateOnNaN(Callback):
  """Stops the fit at the first chunk boundary where a loss is NaN or inf.

  It looks at every loss in ``learner.logs`` (``loss``, each ``<term>_loss``
  and their ``val_*`` versions) at every chunk boundary, and on a non-finite
  value sets ``learner.stop_training`` and prints which terms went bad and at
  which step. The logged losses are means over the chunk, so the step named is
  the end of the chunk in which it happened. The learner's chunk already skips
  non-finite updates, so the weights stay those of the last finite step; as a
  guard this runs first (order -100), before any callback acts on the bad
  values. ``stopped_step`` and ``bad_terms`` keep what was found.

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> guard = cb.TerminateOnNaN()
    >>> # learner.fit(data, steps=10_000, callbacks=[guard])
  """

  order = ORDER_GUARD
  every = None

  def __init__(self):
    self.stopped_step: int | None = None
    self.bad_terms: dict[str, float] = {}

  def on_fit_begin(self, learner):
    self.stopped_step, self.bad_terms = None, {}

  def on_step_end(self, learner):
    self._check(learner)

  def on_validation_end(self, learner):
    self._check(learner)

  def _check(self, learner):
    if self.stopped_step is not None:
      return
    bad = {k: float(v) for k, v in learner.logs.items()
           if _is_loss(k) and not math.isfinite(float(v))}
    if not bad:
      return
    self.stopped_step, self.bad_terms = learner.step, bad
    learner.stop_training = True
    terms = ", ".join(f"{k}={v}" for k, v in bad.items())
    print(f"TerminateOnNaN: non-finite loss at step {learner.step} (end of the chunk"
          f" where it happened): {terms}; stopping training.")


def _is_loss(name: str) -> bool:
  base = name[4:] if name.startswith("val_") else name
  return base == "loss" or base.endswith("_loss")
