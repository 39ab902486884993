"""When a callback is due: small trigger objects the loop plans chunks from.

Every callback has a ``trigger`` (``Callback.trigger``; by default
``Every(every)``, or ``Always()`` when ``every`` is None). The loop asks it
two things:

* ``due(step)``: is ``on_step_end`` due at the boundary ``step``?
* ``boundaries()``: the steps the chunk plan must hit, as ``cadences``
  (periodic: every multiple of n) and ``points`` (single steps). The chunk
  length K divides every cadence; points are chunk boundaries too (K divides
  them as well unless that would make K much shorter: then the chunk that
  spans a point is cut there, ``engine.plan``).

Example:
  >>> from opifex_fit.engine.triggers import AnyOf, AtSteps, Every
  >>> t = AnyOf(Every(100), AtSteps(250))
  >>> [s for s in (100, 200, 250, 300) if t.due(s)]
  [100, 200, 250, 300]
  >>> t.boundaries()
  Boundaries(cadences=(100,), points=(250,))
"""

from __future__ import annotations

from typing import NamedTuple


class Boundaries(NamedTuple):
  """The steps a trigger needs chunk boundaries at."""

  cadences: tuple[int, ...] = ()
  points: tuple[int, ...] = ()


def _positive(value, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise ValueError(f"{name} must be a positive int number of steps; got {value!r}")
  return value


class Trigger:
  """Base: due at every chunk boundary, needing none of its own."""

  def due(self, step: int) -> bool:
    return True

  def boundaries(self) -> Boundaries:
    return Boundaries()

  def __or__(self, other: Trigger) -> AnyOf:
    return AnyOf(self, other)


class Always(Trigger):
  """Due at every chunk boundary (a callback with ``every=None``)."""

  def __repr__(self) -> str:
    return "Always()"


class Every(Trigger):
  """Due at every multiple of ``n`` steps."""

  def __init__(self, n: int):
    self.n = _positive(n, "Every(n): n")

  def due(self, step: int) -> bool:
    return step % self.n == 0

  def boundaries(self) -> Boundaries:
    return Boundaries(cadences=(self.n,))

  def __repr__(self) -> str:
    return f"Every({self.n})"


class AtSteps(Trigger):
  """Due exactly at the given global steps (``SwitchOptimizer(at_step)``,
  ``Multilevel(levels)``)."""

  def __init__(self, *steps: int):
    if not steps:
      raise ValueError("AtSteps needs at least one step")
    self.steps = tuple(sorted({_positive(s, "AtSteps: a step") for s in steps}))

  def due(self, step: int) -> bool:
    return step in self.steps

  def boundaries(self) -> Boundaries:
    return Boundaries(points=self.steps)

  def __repr__(self) -> str:
    return f"AtSteps({', '.join(map(str, self.steps))})"


class AnyOf(Trigger):
  """Due when any of ``triggers`` is; needs the boundaries of all of them."""

  def __init__(self, *triggers: Trigger):
    if not triggers or not all(isinstance(t, Trigger) for t in triggers):
      raise TypeError(f"AnyOf takes Trigger objects (Every, AtSteps, ...); got {triggers!r}")
    self.triggers = triggers

  def due(self, step: int) -> bool:
    return any(t.due(step) for t in self.triggers)

  def boundaries(self) -> Boundaries:
    parts = [t.boundaries() for t in self.triggers]
    return Boundaries(tuple(c for p in parts for c in p.cadences),
                      tuple(sorted({s for p in parts for s in p.points})))

  def __repr__(self) -> str:
    return f"AnyOf({', '.join(map(repr, self.triggers))})"
