"""A checkpointed minibatch fit that can kill itself: run by the resume tests
in a subprocess (``python checkpoint_worker.py DIR STEPS KILL_AT``) and
imported by them for the uninterrupted reference run."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from opifex_fit import callbacks as cb  # noqa: E402
from support import make_learner, sine_data  # noqa: E402

BATCH = 24  # 128 examples: 6 batches per epoch, the last one wraps around


class KillAt(cb.Callback):
  """SIGKILLs the process at a chunk boundary (after the Checkpoint saved)."""

  every, order = 10, 60
  runs_last = True  # with Checkpoint (order 50), after it: the kill follows the save

  def __init__(self, step):
    self.step = step

  def on_step_end(self, learner):
    if learner.step == self.step:
      os.kill(os.getpid(), signal.SIGKILL)


def run(directory, steps, kill_at=None, extra=()):
  learner = make_learner()
  learner.fit(sine_data(), steps=steps, batch_size=BATCH, verbose=0,
              callbacks=[cb.Checkpoint(directory, every=20, max_to_keep=2, verbose=0),
                         KillAt(kill_at), *extra])
  return learner


if __name__ == "__main__":
  run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
  sys.exit(3)  # only reached if the kill did not happen
