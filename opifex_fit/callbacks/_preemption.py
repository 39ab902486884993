"""PreemptionGuard: turns SIGTERM / Ctrl-C into "finish the chunk, save, stop".

Cluster schedulers announce preemption with SIGTERM; a user stops a run with
Ctrl-C (SIGINT). Both would otherwise kill the process in the middle of a
chunk. While the guard is installed the first such signal only sets
``requested``; the Checkpoint callback sees it at the next chunk boundary,
writes a checkpoint and stops the fit cleanly. The first signal also puts the
previous handlers back, so a second Ctrl-C interrupts at once, as usual.

A signal the process ignores stays ignored: under ``nohup`` or in a
background job (``python train.py &``) SIGINT is ignored so that a Ctrl-C
in the terminal does not reach the job, and a fit there must not start
listening to it (Python itself installs no ``KeyboardInterrupt`` then).
SIGTERM is still caught, as it is what schedulers send.

Example:
  >>> from opifex_fit.callbacks._preemption import PreemptionGuard
  >>> guard = PreemptionGuard()
  >>> installed = guard.install(); guard.requested
  False
  >>> guard.uninstall()
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class PreemptionGuard:
  """Installs handlers for SIGTERM and SIGINT (main thread only)."""

  def __init__(self, signals=SIGNALS):
    self.signals = tuple(signals)
    self.requested = False
    self.signum: int | None = None
    self._previous: dict = {}

  @property
  def installed(self) -> bool:
    return bool(self._previous)

  def install(self) -> bool:
    """Installs the handlers; returns False (doing nothing) outside the main
    thread, where Python does not allow signal handlers."""
    self.requested, self.signum = False, None
    if threading.current_thread() is not threading.main_thread() or self.installed:
      return False
    for s in self.signals:
      previous = signal.getsignal(s)
      if previous is signal.SIG_IGN:
        continue  # ignored on purpose (nohup, background job): leave it so
      self._previous[s] = previous
      signal.signal(s, self._handle)
    return True

  def uninstall(self) -> None:
    """Puts the previous handlers back (idempotent)."""
    previous, self._previous = self._previous, {}
    for s, handler in previous.items():
      # getsignal gives None for handlers not set from Python; keep the default then.
      signal.signal(s, handler if handler is not None else signal.SIG_DFL)

  def _handle(self, signum, frame):  # noqa: ARG002 - the signal module's signature
    self.requested, self.signum = True, signum
    self.uninstall()  # a second signal acts as it would without us

  def name(self) -> str:
    return signal.Signals(self.signum).name if self.signum is not None else ""
