"""Axis-aligned boxes and intervals, with exact host and device sampling.

A coordinate named ``t`` is time: its lower face is the initial slice (where
``InitialCondition`` lives) and neither of its faces belongs to the spatial
boundary. All other coordinates are spatial; the spatial boundary is the union
of their ``<c>_min`` / ``<c>_max`` faces, times the whole time interval.

Example:
  >>> import jax, jax.numpy as jnp
  >>> import opifex_fit as of
  >>> box = of.Box({"x": (0.0, 1.0), "t": (0.0, 2.0)}, name="rod")
  >>> box.sample_interior(4, seed=0).shape
  (4, 2)
  >>> box.sample_boundary(3, on="x_min")[:, 0]
  array([0., 0., 0.])
  >>> box.resolve_faces("rod"), box.measure, box.spatial_measure
  (('x_min', 'x_max'), 2.0, 1.0)
  >>> box.device_boundary(jax.random.key(0), 4, ("x_max",), jnp.float32)[:, 0].tolist()
  [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.geometry import distance, sampling
from opifex_fit.geometry.base import Domain, Piece, check_part_name
from opifex_fit.geometry.sampling import TIME


class Box(Domain):
  """A product of closed intervals, one per named coordinate (any dimension).

  Args:
    bounds: mapping coordinate name -> ``(low, high)`` with ``low < high``; the
      order of the mapping is the order of the model's input features.
    name: a part name selecting all faces (useful inside CSG, e.g.
      ``on="plate"``); None adds no such name.
  """

  part_kind = "face"

  def __init__(self, bounds: Mapping[str, tuple[float, float]], *, name: str | None = None):
    if not isinstance(bounds, Mapping) or not bounds:
      raise ValueError(f"bounds must be a non-empty mapping name -> (low, high); got {bounds!r}")
    names, lows, highs = [], [], []
    for coord, lim in bounds.items():
      if not isinstance(coord, str) or not coord.isidentifier() or coord == "laplacian":
        raise ValueError(f"coordinate names must be identifiers other than 'laplacian'; got {coord!r}")
      try:
        lo, hi = (float(v) for v in lim)
      except (TypeError, ValueError) as e:
        raise ValueError(f"bounds[{coord!r}] must be a pair (low, high) of numbers; got {lim!r}") from e
      if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"bounds[{coord!r}] must be finite with low < high; got {lim!r}"
                         " (empty or inverted interval)")
      names.append(coord), lows.append(lo), highs.append(hi)
    self.names: tuple[str, ...] = tuple(names)
    self.low = np.array(lows)
    self.high = np.array(highs)
    self.name = None if name is None else check_part_name(name, "")
    self.box_pieces = tuple(Piece(self, f, False) for f in self.face_names())

  def __repr__(self) -> str:
    inner = ", ".join(f"{n!r}: ({lo:g}, {hi:g})" for n, lo, hi in zip(self.names, self.low, self.high))
    return f"Box({{{inner}}}" + (f", name={self.name!r})" if self.name else ")")

  @property
  def measure(self) -> float:
    """Volume of the box, time included."""
    return float(np.prod(self.high - self.low))

  @property
  def spatial_measure(self) -> float:
    ax = self.spatial_axes
    return float(np.prod(self.high[ax] - self.low[ax]))

  def level(self, x, xp=np):
    ax = self.spatial_axes
    if not ax.size:
      return xp.full(x.shape[:-1], -xp.inf)
    xs = x[..., ax]
    return xp.max(xp.maximum(self.low[ax] - xs, xs - self.high[ax]), axis=-1)

  # -- faces ------------------------------------------------------------------
  def face_names(self) -> tuple[str, ...]:
    """Faces of the spatial boundary, e.g. ``("x_min", "x_max", "y_min", "y_max")``."""
    return tuple(f"{c}_{s}" for c in self.spatial for s in ("min", "max"))

  def aliases(self) -> dict[str, str]:
    """``left/right`` in 1-D and also ``bottom/top`` in 2-D (spatial dims)."""
    if len(self.spatial) == 1:
      c = self.spatial[0]
      return {"left": f"{c}_min", "right": f"{c}_max"}
    if len(self.spatial) == 2:
      a, b = self.spatial
      return {"left": f"{a}_min", "right": f"{a}_max", "bottom": f"{b}_min", "top": f"{b}_max"}
    return {}

  def expand(self, part: str) -> tuple[str, ...]:
    if part == self.name:
      return self.face_names()
    return (self.aliases().get(part, part),)

  def pieces(self) -> tuple[Piece, ...]:
    return self.box_pieces

  def groups(self) -> dict[str, tuple[int, ...]]:
    faces = self.face_names()
    out = {f: (i,) for i, f in enumerate(faces)}
    out.update({a: (faces.index(f),) for a, f in self.aliases().items()})
    if self.name:
      out[self.name] = tuple(range(len(faces)))
    return out

  def face_measure(self, face: str) -> float:
    c = face.rsplit("_", 1)[0]
    others = [i for i, n in enumerate(self.names) if n != c]
    return float(np.prod([self.high[i] - self.low[i] for i in others])) if others else 1.0

  piece_measure = face_measure

  def face_axis(self, face: str) -> tuple[int, float, float]:
    """``(axis, position, outward sign)`` of a face."""
    c, side = face.rsplit("_", 1)
    i = self.index(c)
    return (i, self.high[i], 1.0) if side == "max" else (i, self.low[i], -1.0)

  # -- sampling on the host ----------------------------------------------------
  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points in the box, shape ``(n, dim)``."""
    rng = sampling.rng_of(seed)
    sampling.check_count(n, "n_interior"), sampling.check_method(method)
    return self.low + sampling.unit_cube(n, self.dim, method, rng) * (self.high - self.low)

  def sample_piece(self, face: str, n: int, rng, method: str) -> np.ndarray:
    i, at, _ = self.face_axis(face)
    others = [j for j in range(self.dim) if j != i]
    pts = np.empty((n, self.dim))
    u = sampling.unit_cube(n, len(others), method, rng)
    pts[:, others] = self.low[others] + u * (self.high[others] - self.low[others])
    pts[:, i] = at
    return pts

  def sample_initial(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points on the initial slice ``t = t_min``."""
    if not self.has_time:
      raise ValueError(f"initial points need a coordinate named 't'; the domain is {self!r}")
    sampling.check_count(n, "n_initial"), sampling.check_method(method)
    return self.sample_piece(f"{TIME}_min", n, sampling.rng_of(seed), method)

  # -- sampling on the device (exact, no rejection) ----------------------------
  def device_interior(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points in the box (traceable), shape ``(n, dim)``."""
    low, high = jnp.asarray(self.low, dtype), jnp.asarray(self.high, dtype)
    return low + jax.random.uniform(key, (n, self.dim), dtype) * (high - low)

  def device_piece(self, face: str, key, n: int, dtype) -> jax.Array:
    i, at, _ = self.face_axis(face)
    return self.device_interior(key, n, dtype).at[:, i].set(jnp.asarray(at, dtype))

  def device_boundary(self, key, n: int, faces="boundary", dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points on the union of ``faces``, each face chosen in
    proportion to its measure (traceable)."""
    faces = self.resolve_faces(faces, argname="faces")
    if callable(faces):
      raise ValueError("faces must be face names for device sampling; got a predicate")
    face_key, point_key = jax.random.split(key)
    measures = np.array([self.face_measure(f) for f in faces])
    which = jax.random.choice(face_key, len(faces), (n,), p=jnp.asarray(measures / measures.sum()))
    pts = self.device_interior(point_key, n, dtype)
    for k, face in enumerate(faces):
      i, at, _ = self.face_axis(face)
      pts = pts.at[:, i].set(jnp.where(which == k, jnp.asarray(at, dtype), pts[:, i]))
    return pts

  def device_initial(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points on the slice ``t = t_min`` (traceable)."""
    if not self.has_time:
      raise ValueError(f"initial points need a coordinate named 't'; the domain is {self!r}")
    return self.device_piece(f"{TIME}_min", key, n, dtype)

  # -- traceable geometry of one face ------------------------------------------
  def piece_on(self, face: str, x, tol: float, xp=jnp):
    i, at, _ = self.face_axis(face)
    span = self.high - self.low
    near = xp.abs(x[..., i] - at) <= tol / self.scale * span[i]
    for j in self.spatial_axes:
      if j != i:
        near &= (x[..., j] >= self.low[j] - tol) & (x[..., j] <= self.high[j] + tol)
    return near

  def piece_normal(self, face: str, x, xp=jnp):
    i, _, sign = self.face_axis(face)
    return xp.broadcast_to(xp.where(xp.arange(self.dim) == i, sign, 0.0), x.shape).astype(x.dtype)

  def half_spaces(self, x, skip: int = -1) -> list:
    """Signed distances to each spatial face plane (positive inside), but axis ``skip``."""
    out = []
    for j in self.spatial_axes:
      if j != skip:
        out += [x[..., j] - float(self.low[j]), float(self.high[j]) - x[..., j]]
    return out

  def piece_distance(self, face: str, x):
    i, at, _ = self.face_axis(face)
    f = x[..., i] - float(at)
    trims = self.half_spaces(x, skip=i)
    return jnp.abs(f) if not trims else distance.trimmed(f, distance.intersect_all(trims))

  def adf(self, x):
    return distance.intersect_all(self.half_spaces(x))


def Interval(coordinate: str, low: float, high: float, *, name: str | None = None) -> Box:
  """A 1-D domain: ``Interval("x", 0, 1)`` is ``Box({"x": (0, 1)})``."""
  return Box({coordinate: (low, high)}, name=name)
