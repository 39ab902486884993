"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from opifex_fit.callbacks.base import Callback, check_every

HOOKS = ("on_fit_begin", "on_epoch_begin", "on_step_end", "on_epoch_end",
         "on_validation_end", "on_fit_end", "on_exception")


class LambdaCallback(Callback):
  """Builds a callback from functions, as Keras's ``LambdaCallback``.

  Each function takes the learner (``on_exception`` also the exception).

  Example:
    >>> from opifex_fit import callbacks as cb
    >>> seen = []
    >>> printer = cb.LambdaCallback(on_step_end=lambda l: seen.append(l.step), every=50)

  Args:
    every: cadence of ``on_step_end`` in steps (None: every chunk).
    order: position among callbacks (default 0).
    **hooks: functions keyed by hook name.
  """

  def __init__(self, *, every=None, order: int = 0, **hooks):
    unknown = sorted(set(hooks) - set(HOOKS))
    if unknown:
      raise ValueError(f"unknown hook(s) {unknown}; expected some of {list(HOOKS)}")
    for name, fn in hooks.items():
      if not callable(fn):
        raise TypeError(f"{name} must be callable; got {fn!r}")
      setattr(self, name, fn)
    self.every = check_every(every)
    self.order = order
