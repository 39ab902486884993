"""Preemption: SIGTERM / Ctrl-C finish the chunk, write a checkpoint, end cleanly."""
import os
import signal
import threading

import jax
import numpy as np
import pytest

from opifex_fit import callbacks as cb
from opifex_fit.callbacks._preemption import PreemptionGuard
from support import make_learner, sine_data


@pytest.fixture(autouse=True)
def interactive_sigint():
  """SIGINT as in an interactive run (Ctrl-C raises KeyboardInterrupt), also
  when pytest itself runs with SIGINT ignored (``nohup``, ``&``)."""
  previous = signal.signal(signal.SIGINT, signal.default_int_handler)
  yield
  signal.signal(signal.SIGINT, previous)


class SignalAt(cb.Callback):
  """Sends ``signum`` to this process at a chunk boundary, as a scheduler would."""

  every = 10

  def __init__(self, step, signum):
    self.step, self.signum = step, signum

  def on_step_end(self, learner):
    if learner.step == self.step:
      os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_a_checkpoint_and_stops(tmp_path, signum):
  before = signal.getsignal(signum)
  learner, ckpt = make_learner(), cb.Checkpoint(tmp_path, every=40, verbose=0)
  # Signalled after step 30 (no checkpoint due before 40): the fit stops at the
  # next boundary with a checkpoint of exactly that step, and returns normally.
  learner.fit(sine_data(), steps=200, batch_size=32, verbose=0,
              callbacks=[SignalAt(30, signum), ckpt])
  assert ckpt.preempted and learner.step == 40
  assert sorted(int(s) for s in os.listdir(tmp_path) if s.isdigit()) == [40]
  assert signal.getsignal(signum) is before  # handlers put back
  if signum != signal.SIGTERM:
    return
  # The next run continues from step 40 to the state of an uninterrupted run.
  resumed = make_learner()
  resumed.fit(sine_data(), steps=80, batch_size=32, verbose=0,
              callbacks=[SignalAt(None, signum), cb.Checkpoint(tmp_path, every=40, verbose=0)])
  reference = make_learner()
  reference.fit(sine_data(), steps=80, batch_size=32, verbose=0,
                callbacks=[SignalAt(None, signum), cb.Checkpoint(tmp_path / "ref", every=40)])
  for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(reference.state.params)):
    np.testing.assert_array_equal(a, b)


def test_guard_restores_handlers_and_a_second_signal_acts_normally():
  guard = PreemptionGuard()
  assert guard.install() and signal.getsignal(signal.SIGINT) == guard._handle
  os.kill(os.getpid(), signal.SIGINT)
  assert guard.requested and guard.name() == "SIGINT"
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
  with pytest.raises(KeyboardInterrupt):
    os.kill(os.getpid(), signal.SIGINT)
  guard.uninstall()


def test_guard_does_nothing_outside_the_main_thread():
  results = []
  thread = threading.Thread(target=lambda: results.append(PreemptionGuard().install()))
  thread.start()
  thread.join()
  assert results == [False]


def test_an_ignored_sigint_stays_ignored():
  # As under nohup or in a background job: Ctrl-C in the terminal is not for
  # this process; SIGTERM (the scheduler's) is still caught.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  guard = PreemptionGuard()
  assert guard.install()
  assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
  assert signal.getsignal(signal.SIGTERM) == guard._handle
  os.kill(os.getpid(), signal.SIGINT)
  assert not guard.requested
  guard.uninstall()
  assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
