"""Constructive solid geometry: ``a - b``, ``a | b``, ``a & b``, nested freely.

The level function combines the operands' levels (max / min), the distance
function their R-functions, and the boundary is the union of the operands'
pieces that lie on it: a piece of a subtracted operand has its normal turned
around (into the hole). Measures are estimated deterministically: the area
from 2^16 scrambled Sobol points in the bounding box, each piece's share of the
boundary from 2^12 Sobol points on it.

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> square = of.Box({"x": (0, 1), "y": (0, 1)}, name="square")
  >>> plate = square - of.Disk((0.5, 0.5), 0.25, name="hole")
  >>> round(plate.measure, 3), round(1 - np.pi / 16, 3)
  (0.804, 0.804)
  >>> plate.part_names()[-2:], round(plate.part_measure("hole"), 4)
  (('square', 'hole'), 1.5708)
  >>> float(plate.distance(np.array([0.5, 0.75]), on="hole"))
  0.0
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.stats import qmc

from opifex_fit.geometry import distance
from opifex_fit.geometry.base import Domain, Piece
from opifex_fit.geometry.interior import RejectionInterior
from opifex_fit.geometry.sampling import rng_of

SYMBOLS = {"difference": "-", "union": "|", "intersection": "&"}
MEASURE_POINTS_LOG2 = 16
FRACTION_POINTS = 4096


def combine(op: str, a, b):
  """``a <op> b`` after checking both are CSG-able domains on the same coordinates."""
  for side, d in (("left", a), ("right", b)):
    if not isinstance(d, Domain) or not getattr(d, "supports_csg", True):
      raise TypeError(f"CSG {SYMBOLS[op]!r} needs two spatial domains (Box, Disk, Ball,"
                      f" Polygon or CSG); the {side} operand is {d!r}")
  if a.names != b.names:
    raise ValueError(f"CSG {SYMBOLS[op]!r} needs domains on the same coordinates; got {a.names}"
                     f" and {b.names}")
  if a.has_time:
    raise ValueError(f"CSG of domains with a time coordinate ({a.names}): combine the spatial"
                     " domains, then multiply by of.Interval('t', t0, t1)")
  return CSG(op, a, b)


class CSG(RejectionInterior, Domain):
  """``a - b`` (difference), ``a | b`` (union) or ``a & b`` (intersection).

  Boundary parts keep their primitive's names; parts of the same name merge
  (two disks named ``"hole"`` form one part).
  """

  exact_pieces = False

  def __init__(self, op: str, a: Domain, b: Domain):
    self.op, self.a, self.b = op, a, b
    self.names, self.name = a.names, None
    if op == "union":
      self.low, self.high = np.minimum(a.low, b.low), np.maximum(a.high, b.high)
    elif op == "intersection":
      self.low, self.high = np.maximum(a.low, b.low), np.minimum(a.high, b.high)
      if np.any(self.low >= self.high):
        raise ValueError(f"{a!r} & {b!r} is empty: their bounding boxes do not overlap")
    else:
      self.low, self.high = a.low.copy(), a.high.copy()
    flip = op == "difference"
    self.csg_pieces = a.pieces() + tuple(Piece(p.leaf, p.name, p.flip ^ flip) for p in b.pieces())

  def __repr__(self) -> str:
    return f"({self.a!r} {SYMBOLS[self.op]} {self.b!r})"

  def level(self, x, xp=np):
    la, lb = self.a.level(x, xp), self.b.level(x, xp)
    if self.op == "union":
      return xp.minimum(la, lb)
    return xp.maximum(la, lb if self.op == "intersection" else -lb)

  def adf(self, x):
    fa, fb = self.a.adf(x), self.b.adf(x)
    return getattr(distance, self.op)(fa, fb)

  def pieces(self):
    return self.csg_pieces

  def groups(self):
    out, na = {}, len(self.a.pieces())
    for offset, side in ((0, self.a), (na, self.b)):
      for part, ids in side.groups().items():
        out[part] = tuple(sorted(set(out.get(part, ())) | {i + offset for i in ids}))
    return out

  def piece_adf(self, i: int, x):
    na = len(self.a.pieces())
    d, other = (self.a.piece_adf(i, x), self.b) if i < na else (self.b.piece_adf(i - na, x), self.a)
    # In a union, a piece inside the other operand is interior: trim it away there.
    return distance.union(other.adf(x), d) if self.op == "union" else d

  @functools.cached_property
  def measure(self) -> float:
    """Area / volume, estimated from 2^16 scrambled Sobol points (deterministic)."""
    u = qmc.Sobol(self.dim, scramble=True, seed=0).random_base2(MEASURE_POINTS_LOG2)
    inside = self.level(self.low + u * (self.high - self.low), np) <= 0
    return float(np.prod(self.high - self.low) * inside.mean())

  def piece_fraction(self, i: int, ids) -> float:
    """Estimated from 4096 Sobol points on the piece (cached per selection)."""
    cache = self.__dict__.setdefault("fractions", {})
    if (i, ids) not in cache:
      p = self.pieces()[i]
      pts = p.leaf.sample_piece(p.name, FRACTION_POINTS, rng_of(0), "sobol")
      cache[(i, ids)] = float(np.mean(self.keeps(i, ids, pts, np)))
    return cache[(i, ids)]
