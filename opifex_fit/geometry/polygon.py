"""Simple polygons: any number of vertices, in order, either orientation.

The level function is the signed distance to the edges (crossing number for
the sign), the boundary is one part (the polygon's ``name``) made of its edges,
sampled exactly by arc length; normals are the edges' outward normals
(averaged at a vertex). The interior is sampled by rejection from the bounding
box (quasi-random methods keep their low discrepancy).

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> ell = of.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)], name="ell")
  >>> ell.measure, ell.part_measure("ell")
  (3.0, 8.0)
  >>> ell.contains(np.array([[0.5, 1.5], [1.5, 1.5]])).tolist()
  [True, False]
  >>> np.asarray(ell.normals(np.array([[1.5, 1.0], [1.0, 1.5]]))).tolist()
  [[0.0, 1.0], [1.0, 0.0]]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.geometry import distance, sampling
from opifex_fit.geometry.base import Domain, Piece, check_names, check_part_name
from opifex_fit.geometry.interior import RejectionInterior


def cross(u, v):
  return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def segments_meet(p, q, r, s, eps: float) -> bool:
  """True if the closed segments ``pq`` and ``rs`` share a point (within ``eps``)."""
  d1, d2 = cross(q - p, r - p), cross(q - p, s - p)
  d3, d4 = cross(s - r, p - r), cross(s - r, q - r)
  if ((d1 > eps and d2 < -eps) or (d1 < -eps and d2 > eps)) and \
     ((d3 > eps and d4 < -eps) or (d3 < -eps and d4 > eps)):
    return True

  def on(a, b, c, d):  # c lies on segment ab (d = cross(b - a, c - a))
    return abs(d) <= eps and min(a[0], b[0]) - eps <= c[0] <= max(a[0], b[0]) + eps and \
        min(a[1], b[1]) - eps <= c[1] <= max(a[1], b[1]) + eps
  return on(p, q, r, d1) or on(p, q, s, d2) or on(r, s, p, d3) or on(r, s, q, d4)


def check_vertices(vertices) -> np.ndarray:
  try:
    v = np.asarray(vertices, float)
  except (TypeError, ValueError) as e:
    raise ValueError(f"vertices must be a sequence of (x, y) pairs; got {vertices!r}") from e
  if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3 or not np.all(np.isfinite(v)):
    raise ValueError(f"vertices must be at least 3 finite (x, y) pairs in order; got shape"
                     f" {v.shape}: {v.tolist()}")
  m, eps = len(v), 1e-12 * float(np.ptp(v, axis=0).max()) ** 2
  for i in range(m):
    for j in range(i + 1, m):
      a, b, c, d = v[i], v[(i + 1) % m], v[j], v[(j + 1) % m]
      adjacent = j == i + 1 or (i == 0 and j == m - 1)
      if adjacent:  # they share a vertex; they must not fold back onto each other
        shared, p, q = (b, a, d) if j == i + 1 else (a, b, c)
        bad = abs(cross(p - shared, q - shared)) <= eps and np.dot(p - shared, q - shared) > 0
      else:
        bad = segments_meet(a, b, c, d, eps)
      if bad or np.allclose(a, b):
        raise ValueError(f"vertices must form a simple polygon; edges {i} {v[[i, (i + 1) % m]].tolist()}"
                         f" and {j} {v[[j, (j + 1) % m]].tolist()} intersect (or an edge has length 0)")
  return v


class Polygon(RejectionInterior, Domain):
  """A closed simple polygon.

  Args:
    vertices: ``(m, 2)`` corners in order (clockwise or counter-clockwise),
      ``m >= 3``, edges not intersecting each other.
    names: the two coordinate names.
    name: the part name of its boundary (default ``"polygon"``).
  """

  def __init__(self, vertices, names=("x", "y"), *, name: str | None = None):
    v = check_vertices(vertices)
    names = check_names(names)
    if len(names) != 2 or sampling.TIME in names:
      raise ValueError(f"names must be 2 spatial coordinates for a Polygon; got {names!r}")
    area2 = float(np.sum(cross(v, np.roll(v, -1, axis=0))))
    self.vertices = v if area2 > 0 else v[::-1].copy()  # counter-clockwise
    self.names, self.name = names, check_part_name(name, "polygon")
    self.low, self.high = v.min(axis=0), v.max(axis=0)
    self.start = self.vertices
    self.edge = np.roll(self.vertices, -1, axis=0) - self.vertices
    self.lengths = np.linalg.norm(self.edge, axis=1)
    self.outward = np.stack([self.edge[:, 1], -self.edge[:, 0]], axis=1) / self.lengths[:, None]
    self.cumulative = np.concatenate([[0.0], np.cumsum(self.lengths)])
    self.area = abs(area2) / 2
    self.polygon_pieces = (Piece(self, self.name, False),)

  def __repr__(self) -> str:
    return f"Polygon({self.vertices.tolist()}, names={self.names}, name={self.name!r})"

  @property
  def measure(self) -> float:
    return self.area

  def piece_measure(self, name: str) -> float:
    return float(self.cumulative[-1])

  def pieces(self):
    return self.polygon_pieces

  def groups(self):
    return {self.name: (0,)}

  def edge_distances(self, x, xp=np):
    """Distance from each point to each edge, shape ``(..., m)``."""
    d = x[..., None, :] - self.start
    t = xp.clip(xp.sum(d * self.edge, axis=-1) / self.lengths ** 2, 0.0, 1.0)
    return xp.linalg.norm(d - t[..., None] * self.edge, axis=-1)

  def inside(self, x, xp=np):
    """Crossing number parity (a horizontal ray to +x)."""
    a, b = self.start, self.start + self.edge
    y = x[..., None, 1]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    dy = np.where(self.edge[:, 1] == 0, 1.0, self.edge[:, 1])
    x_cross = a[:, 0] + (y - a[:, 1]) * self.edge[:, 0] / dy
    return xp.sum(straddles & (x[..., None, 0] < x_cross), axis=-1) % 2 == 1

  def level(self, x, xp=np):
    dist = xp.min(self.edge_distances(x, xp), axis=-1)
    return xp.where(self.inside(x, xp), -dist, dist)

  # -- boundary -----------------------------------------------------------------
  def along(self, u, xp=np):
    """Points at arc-length fractions ``u`` (shape ``(n,)``) of the boundary."""
    cumulative, lengths = xp.asarray(self.cumulative, u.dtype), xp.asarray(self.lengths, u.dtype)
    s = u * cumulative[-1]
    k = xp.clip(xp.searchsorted(cumulative, s, side="right") - 1, 0, len(self.lengths) - 1)
    frac = (s - cumulative[k]) / lengths[k]
    return xp.asarray(self.start, u.dtype)[k] + frac[:, None] * xp.asarray(self.edge, u.dtype)[k]

  def sample_piece(self, name: str, n: int, rng, method: str) -> np.ndarray:
    return self.along(sampling.unit_cube(n, 1, method, rng)[:, 0])

  def device_piece(self, name: str, key, n: int, dtype) -> jax.Array:
    return self.along(jax.random.uniform(key, (n,), dtype), jnp).astype(dtype)

  def piece_on(self, name: str, x, tol: float, xp=jnp):
    return xp.min(self.edge_distances(x, xp), axis=-1) <= tol

  def piece_normal(self, name: str, x, xp=jnp):
    near = self.edge_distances(x, xp) <= 1e-5 * self.scale
    total = xp.where(near[..., None], self.outward.astype(x.dtype), 0.0).sum(axis=-2)
    norm = xp.linalg.norm(total, axis=-1, keepdims=True)
    return total / xp.where(norm > 0, norm, 1.0)

  def piece_distance(self, name: str, x):
    b = self.start + self.edge
    return distance.equivalence([distance.segment(x, a, e) for a, e in zip(self.start, b)])

  def adf(self, x):
    """Signed (positive inside) R-equivalence of the edges' trimmed distances."""
    return jnp.where(self.inside(x, jnp), 1.0, -1.0) * self.piece_distance(self.name, x)
