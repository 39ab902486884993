"""The callbacks of one fit: the user's, checked, plus the defaults every fit has."""

from __future__ import annotations

from opifex_fit.callbacks.base import Callback, sort_callbacks
from opifex_fit.callbacks.history_recorder import HistoryRecorder
from opifex_fit.callbacks.progress_bar import ProgressBar


def fit_callbacks(callbacks, verbose) -> list[Callback]:
  """The callbacks of one fit: ``callbacks`` checked, plus a ``HistoryRecorder``
  (and a ``ProgressBar`` when ``verbose``) unless given, sorted by ``order``."""
  if verbose not in (0, 1, 2):
    raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
  if isinstance(callbacks, Callback) or not hasattr(callbacks, "__iter__"):
    raise TypeError(f"callbacks must be a list of Callback objects; got {callbacks!r}")
  callbacks = sort_callbacks(list(callbacks))  # type-checks before anything is added
  if not any(isinstance(c, HistoryRecorder) for c in callbacks):
    callbacks.append(HistoryRecorder())
  if verbose and not any(isinstance(c, ProgressBar) for c in callbacks):
    callbacks.append(ProgressBar(mode="bar" if verbose == 1 else "lines"))
  return sort_callbacks(callbacks)
