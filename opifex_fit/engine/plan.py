"""Checking fit arguments and planning the loop: batches, epochs, chunk length.

Everything here runs on the host before anything compiles, so a bad argument
costs nothing but a clear message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from opifex_fit.validators import positive_int

MAX_CHUNK = 1000  # longest scan; keeps progress/history readable and latency low


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


def chunk_length(cadences: Iterable[int], total: int, requested, cap: int = MAX_CHUNK) -> int:
  """The scan length K: every cadence is a multiple of K (so no callback ever
  needs a step inside a chunk), capped at ``cap`` (at most ``MAX_CHUNK``)."""
  if requested != "auto":
    return positive_int(requested, "steps_per_execution", allow_none=False)
  cadences = [c for c in cadences if c]
  g = math.gcd(*cadences) if cadences else total
  cap = min(MAX_CHUNK, cap, g)
  # The largest divisor of g not above the cap keeps every cadence aligned.
  k = max(d for d in range(1, cap + 1) if g % d == 0)
  if not cadences and k < cap // 4:
    return cap  # nothing to align with (e.g. a prime step count): a shorter last chunk
  return k


def chunk_length_for(cadences: Iterable[int], points: Iterable[int], total: int, requested,
                     cap: int = MAX_CHUNK) -> int:
  """``chunk_length`` when some boundaries are single steps (``points``): K
  divides them too, unless that makes K more than 4x shorter than the
  cadences alone allow (a point such as step 1234 among cadences of 100):
  then K follows the cadences and ``chunk_steps`` cuts the chunk at the point
  (the pieces before and after it compile once each)."""
  cadences, points = list(cadences), list(points)
  k = chunk_length(cadences, total, requested, cap=cap)
  if requested != "auto" or not points:
    return k
  with_points = chunk_length(cadences + points, total, requested, cap=cap)
  return with_points if 4 * with_points >= k else k


def chunk_steps(step: int, chunk: int, target: int, points=()) -> int:
  """Steps of the chunk starting at ``step``: up to the next multiple of
  ``chunk`` (where cadences line up) or the next of ``points``, never past
  ``target``."""
  n = min(chunk - step % chunk, target - step)
  return min([n] + [p - step for p in points if step < p < step + n])


def chunk_plan(step: int, chunk: int, target: int, points=()):
  """The step counts of the loop's chunks from ``step`` to ``target``."""
  while step < target:
    n = chunk_steps(step, chunk, target, points)
    yield n
    step += n
