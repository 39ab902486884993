"""When something is due: small trigger objects the loop plans chunks from.

Every callback has a ``trigger`` (``Callback.trigger``; by default
``Every(every)``, or ``Always()`` when ``every`` is None); validation, epoch
ends and the fit's end are triggers too. The loop asks each one two things:

* ``next_due(step)``: the first step after ``step`` at which it is due (None:
  it sets no boundary of its own). A chunk runs from the current step to the
  nearest of these, at most ``steps_per_execution`` steps, so cadences never
  need to divide each other (``engine.plan``).
* ``due(step)``: is it due at the boundary ``step``?

``EverySeconds`` is a wall-clock trigger (CLU's ``every_secs``): it sets no
step boundary and is due at the first boundary after its period elapsed.

Example:
  >>> from opifex_fit.engine.triggers import AnyOf, AtSteps, Every
  >>> t = AnyOf(Every(100), AtSteps(250))
  >>> [s for s in (100, 200, 250, 300) if t.due(s)]
  [100, 200, 250, 300]
  >>> t.next_due(200), t.next_due(250)
  (250, 300)
"""

from __future__ import annotations

import math
import time

from opifex_fit.validators import positive_int


def _positive_number(value, name: str) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
      or not math.isfinite(value):
    raise ValueError(f"{name} must be a positive finite number of seconds; got {value!r}")
  return float(value)


class Trigger:
  """Base: due at every chunk boundary, setting none of its own."""

  def due(self, step: int) -> bool:
    return True

  def next_due(self, step: int) -> int | None:
    """The first step after ``step`` where this is due (None: no boundary)."""
    return None

  def period(self) -> int | None:
    """The longest gap between two due steps, if bounded (sizes stream buffers)."""
    return None

  def start(self, step: int) -> None:
    """Called when a fit starts at ``step`` (wall-clock triggers start their clock)."""

  def __or__(self, other: Trigger) -> AnyOf:
    return AnyOf(self, other)


class Always(Trigger):
  """Due at every chunk boundary (a callback with ``every=None``)."""

  def __repr__(self) -> str:
    return "Always()"


class Every(Trigger):
  """Due at every step ``s`` with ``(s - offset) % n == 0``.

  >>> Every(391, offset=10).next_due(10), Every(100).next_due(250)
  (401, 300)
  """

  def __init__(self, n: int, offset: int = 0):
    self.n = positive_int(n, "Every(n): n", allow_none=False)
    if isinstance(offset, bool) or not isinstance(offset, int):
      raise TypeError(f"Every: offset must be an int step; got {offset!r}")
    self.offset = offset

  def due(self, step: int) -> bool:
    return (step - self.offset) % self.n == 0

  def next_due(self, step: int) -> int:
    return step + self.n - (step - self.offset) % self.n

  def period(self) -> int:
    return self.n

  def __repr__(self) -> str:
    return f"Every({self.n})" if not self.offset else f"Every({self.n}, offset={self.offset})"


class AtSteps(Trigger):
  """Due exactly at the given global steps (``SwitchOptimizer(at_step)``,
  ``Multilevel(levels)``, the fit's end)."""

  def __init__(self, *steps: int):
    if not steps:
      raise ValueError("AtSteps needs at least one step")
    self.steps = tuple(sorted({positive_int(s, "AtSteps: a step", allow_none=False)
                               for s in steps}))

  def due(self, step: int) -> bool:
    return step in self.steps

  def next_due(self, step: int) -> int | None:
    return next((s for s in self.steps if s > step), None)

  def __repr__(self) -> str:
    return f"AtSteps({', '.join(map(str, self.steps))})"


class EverySeconds(Trigger):
  """Due at the first boundary at least ``seconds`` after it was last due (or
  after the fit started): wall-clock checkpoints of preemptible jobs. It sets
  no boundary; chunks are at most ``steps_per_execution`` long, so it is late
  by at most one chunk. Asked twice at one step, it answers the same.

  >>> t = EverySeconds(3600)
  >>> t.start(0); t.due(100), t.next_due(100)
  (False, None)
  """

  def __init__(self, seconds: float, clock=time.monotonic):
    self.seconds = _positive_number(seconds, "EverySeconds(seconds): seconds")
    self.clock = clock
    self.last = clock()
    self.answer = (None, False)  # (step, due) of the latest question

  def start(self, step: int) -> None:
    self.last, self.answer = self.clock(), (None, False)

  def due(self, step: int) -> bool:
    if self.answer[0] != step:
      now = self.clock()
      fired = now - self.last >= self.seconds
      if fired:
        self.last = now
      self.answer = (step, fired)
    return self.answer[1]

  def __repr__(self) -> str:
    return f"EverySeconds({self.seconds:g})"


class AnyOf(Trigger):
  """Due when any of ``triggers`` is; its next due step is the nearest of theirs."""

  def __init__(self, *triggers: Trigger):
    if not triggers or not all(isinstance(t, Trigger) for t in triggers):
      raise TypeError(f"AnyOf takes Trigger objects (Every, AtSteps, ...); got {triggers!r}")
    self.triggers = triggers

  def due(self, step: int) -> bool:
    # Every part is asked (no short cut): a wall-clock part restarts when due.
    return any([t.due(step) for t in self.triggers])

  def next_due(self, step: int) -> int | None:
    return nearest(t.next_due(step) for t in self.triggers)

  def period(self) -> int | None:
    periods = [p for p in (t.period() for t in self.triggers) if p is not None]
    return min(periods) if periods else None

  def start(self, step: int) -> None:
    for t in self.triggers:
      t.start(step)

  def __repr__(self) -> str:
    return f"AnyOf({', '.join(map(repr, self.triggers))})"


def nearest(steps) -> int | None:
  """The smallest of ``steps`` that is not None (None if all are)."""
  found = [s for s in steps if s is not None]
  return min(found) if found else None
