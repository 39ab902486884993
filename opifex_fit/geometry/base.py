"""The shared base of every domain: coordinates, parts of the boundary, tests
of membership, and CSG / space-time operators.

A domain's spatial boundary is made of disjoint *pieces* (a box face, a disk's
rim, a polygon's edges), each a ``Piece(leaf, name, flip)`` of a primitive
``leaf``; CSG domains collect the pieces of their operands (``flip`` when the
piece bounds a subtracted operand, so its normal turns around). Users select
pieces through *part names* (``part_names()``): the pieces' own names, box
aliases such as ``"left"``, and each primitive's ``name``.

Every domain answers ``level(x, xp)``: a signed level of the spatial coordinates,
negative inside, zero on the boundary, positive outside (a distance for the
primitives), with ``xp`` NumPy on the host and ``jax.numpy`` inside jitted code.

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> disk = of.Disk((0.0, 0.0), 1.0, name="rim")
  >>> disk.contains(np.array([[0.5, 0.0], [2.0, 0.0]])).tolist()
  [True, False]
  >>> disk.part_names(), disk.resolve_faces("boundary")
  (('rim',), ('rim',))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from opifex_fit.geometry import boundary
from opifex_fit.geometry.sampling import TIME


class Piece(NamedTuple):
  """One disjoint piece of a spatial boundary: the primitive ``leaf`` it belongs
  to, its name there, and whether its outward normal turns around (``flip``)."""
  leaf: "Domain"
  name: str
  flip: bool


def check_names(names, argname: str = "names") -> tuple[str, ...]:
  """Coordinate names: distinct identifiers other than ``laplacian``."""
  if isinstance(names, str) or not isinstance(names, (tuple, list)) or not names:
    raise ValueError(f"{argname} must be a non-empty tuple of coordinate names; got {names!r}")
  for n in names:
    if not isinstance(n, str) or not n.isidentifier() or n == "laplacian":
      raise ValueError(f"coordinate names must be identifiers other than 'laplacian'; got {n!r}"
                       f" in {argname}={names!r}")
  if len(set(names)) != len(names):
    raise ValueError(f"{argname} must not repeat a coordinate; got {names!r}")
  return tuple(names)


def check_part_name(name, default: str) -> str:
  if name is None:
    return default
  if not isinstance(name, str) or not name:
    raise TypeError(f"name must be a non-empty str or None; got {name!r}")
  return name


class Domain(boundary.BoundaryMixin):
  """Base class: subclasses set ``names``, ``low``, ``high``, ``name`` and
  implement ``level``, ``pieces``, ``groups``, ``measure``, ``adf`` and the
  interior samplers (host and device)."""

  part_kind = "part"  # the word error messages use ("face" for boxes)
  exact_pieces = True  # every point of each piece lies on the boundary (primitives)

  @property
  def dim(self) -> int:
    return len(self.names)

  @property
  def spatial(self) -> tuple[str, ...]:
    return tuple(n for n in self.names if n != TIME)

  @property
  def has_time(self) -> bool:
    return TIME in self.names

  @property
  def spatial_axes(self) -> np.ndarray:
    return np.array([i for i, n in enumerate(self.names) if n != TIME], int)

  @property
  def scale(self) -> float:
    """Largest side of the spatial bounding box (sets tolerances)."""
    ax = self.spatial_axes
    return float(np.max(self.high[ax] - self.low[ax])) if ax.size else 1.0

  @property
  def spatial_measure(self) -> float:
    """Area / volume of the spatial domain (``measure`` without time)."""
    return self.measure

  def no_time(self) -> ValueError:
    return ValueError(f"initial points need a coordinate named 't'; the domain is {self!r}"
                      " (multiply it by of.Interval('t', t0, t1))")

  def sample_initial(self, n: int, *, seed=0, method: str = "uniform"):
    raise self.no_time()

  def device_initial(self, key, n: int, dtype=None):
    raise self.no_time()

  def index(self, name: str) -> int:
    if name not in self.names:
      raise ValueError(f"unknown coordinate {name!r}; the domain has {list(self.names)}")
    return self.names.index(name)

  # -- membership (host arrays) -----------------------------------------------
  def in_time(self, x, xp=np, atol: float = 0.0):
    """True where the time coordinate (if any) lies in its interval."""
    if not self.has_time:
      return xp.ones(x.shape[:-1], bool)
    i = self.index(TIME)
    return (x[..., i] >= self.low[i] - atol) & (x[..., i] <= self.high[i] + atol)

  def contains(self, x, atol: float = 1e-6) -> np.ndarray:
    """True for points of the closed domain (within ``atol``), shape ``(n,)``."""
    x = self.as_points(x)
    return (self.level(x, np) <= atol) & self.in_time(x, np, atol)

  def on_boundary(self, x, atol: float = 1e-6) -> np.ndarray:
    """True for points within ``atol`` of the spatial boundary (time slices excluded)."""
    x = self.as_points(x)
    return (np.abs(self.level(x, np)) <= atol) & self.in_time(x, np, atol)

  def as_points(self, x) -> np.ndarray:
    x = np.asarray(x, float)
    if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
      raise ValueError(f"x must have shape (n, {self.dim}) or ({self.dim},) for coordinates"
                       f" {list(self.names)}; got {x.shape}")
    return x

  # -- parts of the boundary --------------------------------------------------
  def part_names(self) -> tuple[str, ...]:
    """The names ``on=`` accepts besides ``"boundary"`` and predicates."""
    return tuple(self.groups())

  def expand(self, part: str) -> tuple[str, ...]:
    """What ``resolve_faces`` returns for one part name (boxes expand aliases)."""
    return (part,)

  def resolve_faces(self, on, argname: str = "on") -> tuple[str, ...] | Callable:
    """Turns ``on`` into a tuple of part names (or returns a predicate as is)."""
    if callable(on):
      return on
    items = (on,) if isinstance(on, str) else tuple(on) if isinstance(on, (list, tuple)) else None
    if not items:
      raise ValueError(f"{argname} must be 'boundary', a {self.part_kind} name, a list of"
                       f" {self.part_kind}s or a predicate; got {on!r}")
    if not self.spatial:
      raise ValueError(f"{argname}={on!r}: the domain {self!r} has no spatial boundary")
    out, groups = [], self.groups()
    for item in items:
      if item == "boundary":
        out.extend(dict.fromkeys(p.name for p in self.pieces()))
      elif isinstance(item, str) and item in groups:
        out.extend(self.expand(item))
      else:
        raise ValueError(f"{argname}={item!r} is not a {self.part_kind} of {self!r}; expected"
                         f" 'boundary' or one of {list(self.part_names())}")
    if not out:
      raise ValueError(f"{argname}={on!r} selects no boundary point: {self!r} has no boundary parts")
    return tuple(dict.fromkeys(out))

  def piece_ids(self, faces) -> tuple[int, ...]:
    """Indices into ``pieces()`` of the resolved part names ``faces``."""
    groups = self.groups()
    ids = [i for f in self.resolve_faces(faces, argname="faces") for i in groups[f]]
    return tuple(sorted(set(ids)))

  def piece_fraction(self, i: int, ids) -> float:
    """Fraction of piece ``i`` that lies on this domain's boundary and not on an
    earlier piece of the selection ``ids`` (1 for primitives)."""
    return 1.0

  def piece_measures(self, ids) -> np.ndarray:
    pieces = self.pieces()
    return np.array([pieces[i].leaf.piece_measure(pieces[i].name) * self.piece_fraction(i, ids)
                     for i in ids])

  def part_measure(self, part) -> float:
    """Length / area of a part (or of a tuple of parts) of the spatial boundary."""
    return float(self.piece_measures(self.piece_ids(part)).sum())

  def piece_adf(self, i: int, x):
    piece = self.pieces()[i]
    return piece.leaf.piece_distance(piece.name, x)

  # -- operators ---------------------------------------------------------------
  def __sub__(self, other):
    from opifex_fit.geometry import csg
    return csg.combine("difference", self, other)

  def __or__(self, other):
    from opifex_fit.geometry import csg
    return csg.combine("union", self, other)

  def __and__(self, other):
    from opifex_fit.geometry import csg
    return csg.combine("intersection", self, other)

  def __mul__(self, other):
    from opifex_fit.geometry import space_time
    return space_time.product(self, other)
