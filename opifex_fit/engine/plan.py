"""Checking fit arguments and planning the loop: total steps, chunk lengths.

Everything here runs on the host before anything compiles, so a bad argument
costs nothing but a clear message. A chunk runs from the current step to the
nearest step at which any trigger is due (``engine.triggers``), at most
``cap`` steps: one compiled chunk serves every length, so no length has to
divide another.

Example (cadences of 100 and 1000, epochs of 391 steps, 782 steps):
  >>> from opifex_fit.engine.triggers import Every
  >>> plan = ChunkPlan([Every(100), Every(1000), Every(391)], target=782, cap=1000)
  >>> list(plan.lengths(0))
  [100, 100, 100, 91, 9, 100, 100, 100, 82]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from opifex_fit.engine.triggers import Trigger, nearest
from opifex_fit.validators import positive_int

MAX_CHUNK = 1000  # longest chunk: keeps progress/history readable and latency low


def total_steps(steps, epochs, spe: int | None) -> int:
  steps = positive_int(steps, "steps")
  epochs = positive_int(epochs, "epochs")
  if (steps is None) == (epochs is None):
    raise ValueError(f"pass exactly one of steps= and epochs=; got steps={steps!r}, "
                     f"epochs={epochs!r}")
  if steps is None and spe is None:
    raise ValueError(f"epochs={epochs} needs a known epoch length, but this iterable of "
                     "batches has no len(); pass steps=, or of.Batches(iterable, "
                     "steps_per_epoch=...)")
  return steps if steps is not None else epochs * spe


def chunk_cap(requested, limit: int = MAX_CHUNK) -> int:
  """The longest chunk: ``steps_per_execution`` (a cap, not a divisor), or
  ``limit`` (at most ``MAX_CHUNK``) for "auto"."""
  if requested == "auto":
    return min(MAX_CHUNK, limit)
  return positive_int(requested, "steps_per_execution", allow_none=False)


class ChunkPlan:
  """The chunk lengths of one fit: from a step to the nearest due trigger,
  at most ``cap`` steps, never past ``target``.

  Args:
    triggers: the triggers that set boundaries (callbacks' ``trigger``,
      validation, epoch ends); ``next_due`` None sets none.
    target: the step the fit ends at.
    cap: the longest chunk (``chunk_cap``).
  """

  def __init__(self, triggers: Sequence[Trigger], target: int, cap: int):
    self.triggers, self.target, self.cap = tuple(triggers), target, cap

  def next_length(self, step: int) -> int:
    """Steps of the chunk starting at ``step``."""
    end = nearest([self.target, step + self.cap, *(t.next_due(step) for t in self.triggers)])
    return end - step

  def lengths(self, step: int) -> Iterator[int]:
    """The lengths of the chunks from ``step`` to ``target``."""
    while step < self.target:
      n = self.next_length(step)
      yield n
      step += n

  def longest(self, step: int) -> int:
    """A bound on every chunk length from ``step`` on (sizes a stream's
    fixed batch buffer): the cap, the steps left, the shortest period."""
    periods = [p for p in (t.period() for t in self.triggers) if p is not None]
    return max(1, min([self.cap, self.target - step, *periods]))
