"""Domains given by points: imported meshes and scattered nodes.

Follows DeepXDE's ``PointCloud``: sampling draws from the stored points
(without replacement while enough remain), a point is inside when it is one of
the stored points, and on the boundary when it is one of the stored boundary
points. Normals at a query point are those of the nearest stored boundary
point. A cloud has no distance function and takes no part in CSG.

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> cloud = of.PointCloud(np.array([[0.5, 0.5], [0.25, 0.75]]),
  ...                       boundary=np.array([[0.0, 0.5], [1.0, 0.5]]),
  ...                       normals=np.array([[-1.0, 0.0], [1.0, 0.0]]))
  >>> cloud.part_names(), cloud.sample_interior(2, seed=0).shape
  (('cloud',), (2, 2))
  >>> np.asarray(cloud.normals(np.array([[0.9, 0.5]]))).tolist()
  [[1.0, 0.0]]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial import cKDTree

from opifex_fit.geometry import mesh_reader, sampling
from opifex_fit.geometry.ball import default_names
from opifex_fit.geometry.base import Domain, Piece, check_names, check_part_name


def check_points(points, argname: str, dim: int | None = None) -> np.ndarray:
  try:
    p = np.asarray(points, float)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{argname} must be an (n, dim) array of numbers; got {points!r}") from e
  if p.ndim != 2 or len(p) == 0 or (dim is not None and p.shape[1] != dim) or not np.all(np.isfinite(p)):
    want = f"(n, {dim})" if dim else "(n, dim)"
    raise ValueError(f"{argname} must be a non-empty finite {want} array; got shape {p.shape}")
  return p


class PointCloud(Domain):
  """A domain known by its points.

  Args:
    interior: ``(n, dim)`` points inside the domain.
    boundary: ``(m, dim)`` points on its boundary (one part, named ``name``).
    normals: ``(m, dim)`` outward normals at the boundary points (normalized here).
    names: coordinate names (default ``x, y, z`` up to 3-D).
    name: the part name of the boundary (default ``"cloud"``).
    measure: the domain's area / volume if known (``from_mesh`` sums its elements).
    boundary_measure: the boundary's length / area if known.
  """

  supports_csg = False

  def __init__(self, interior, boundary=None, normals=None, names=None, *, name: str | None = None,
               measure: float | None = None, boundary_measure: float | None = None):
    self.interior = check_points(interior, "interior")
    dim = self.interior.shape[1]
    self.names = default_names(dim) if names is None else check_names(names)
    if len(self.names) != dim:
      raise ValueError(f"names={self.names!r} has {len(self.names)} coordinates but the points have {dim}")
    self.boundary = None if boundary is None else check_points(boundary, "boundary", dim)
    self.boundary_normals = None
    if normals is not None:
      if self.boundary is None:
        raise ValueError("normals need boundary points: pass boundary= with one normal per point")
      n = check_points(normals, "normals", dim)
      if len(n) != len(self.boundary) or np.any(np.linalg.norm(n, axis=1) == 0):
        raise ValueError(f"normals must be {len(self.boundary)} non-zero vectors, one per boundary"
                         f" point; got shape {n.shape}")
      self.boundary_normals = n / np.linalg.norm(n, axis=1, keepdims=True)
    every = self.interior if self.boundary is None else np.concatenate([self.interior, self.boundary])
    self.low, self.high = every.min(axis=0), every.max(axis=0)
    self.name = check_part_name(name, "cloud")
    self.known_measure, self.known_boundary_measure = measure, boundary_measure
    self.tree = cKDTree(every)
    self.boundary_tree = None if self.boundary is None else cKDTree(self.boundary)

  @classmethod
  def from_mesh(cls, path, names=None, *, name: str | None = None) -> PointCloud:
    """Reads a Gmsh ``.msh`` or VTK ``.vtu`` mesh of triangles (2-D) or tetrahedra
    (3-D) through ``meshio`` (the ``mesh`` extra): interior nodes, boundary nodes
    (on facets that belong to one element only) and outward node normals
    (facet normals averaged with facet size weights); measures from the elements."""
    m = mesh_reader.read(path)
    return cls(m.interior, m.boundary, m.normals, names, name=name, measure=m.measure,
               boundary_measure=m.boundary_measure)

  def __repr__(self) -> str:
    nb = 0 if self.boundary is None else len(self.boundary)
    return (f"PointCloud({len(self.interior)} interior, {nb} boundary points, names={self.names},"
            f" name={self.name!r})")

  @property
  def measure(self) -> float:
    if self.known_measure is None:
      raise ValueError(f"{self!r} has no measure: pass measure= (from_mesh sums its elements)")
    return float(self.known_measure)

  def part_measure(self, part) -> float:
    self.resolve_faces(part)
    if self.known_boundary_measure is None:
      raise ValueError(f"{self!r} has no boundary measure: pass boundary_measure=")
    return float(self.known_boundary_measure)

  def groups(self):
    return {} if self.boundary is None else {self.name: (0,)}

  def pieces(self):
    return () if self.boundary is None else (Piece(self, self.name, False),)

  def contains(self, x, atol: float = 1e-6) -> np.ndarray:
    """True where ``x`` is one of the stored points (within ``atol``)."""
    return self.tree.query(self.as_points(x), distance_upper_bound=atol)[0] <= atol

  def on_boundary(self, x, atol: float = 1e-6) -> np.ndarray:
    x = self.as_points(x)
    if self.boundary_tree is None:
      return np.zeros(x.shape[:-1], bool)
    return self.boundary_tree.query(x, distance_upper_bound=atol)[0] <= atol

  # -- sampling --------------------------------------------------------------------
  def stored(self, points, n: int, rng, method: str) -> np.ndarray:
    if method != "uniform":
      raise ValueError(f"method={method!r}: a PointCloud draws from its stored points; use 'uniform'")
    return points[rng.choice(len(points), n, replace=n > len(points))]

  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    sampling.check_count(n, "n_interior"), sampling.check_method(method)
    return self.stored(self.interior, n, sampling.rng_of(seed), method)

  def sample_boundary(self, n: int, *, on="boundary", seed=0, method: str = "uniform") -> np.ndarray:
    sampling.check_count(n, "n_boundary"), sampling.check_method(method)
    rng, faces = sampling.rng_of(seed), self.resolve_faces(on)
    if callable(faces):
      return self.sample_predicate(n, faces, rng, method)
    return self.stored(self.boundary, n, rng, method)

  def device_stored(self, points, key, n: int, dtype) -> jax.Array:
    idx = (jax.random.permutation(key, len(points))[:n] if n <= len(points)
           else jax.random.randint(key, (n,), 0, len(points)))
    return jnp.asarray(points, dtype)[idx]

  def device_interior(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    return self.device_stored(self.interior, key, n, dtype)

  def device_boundary(self, key, n: int, faces="boundary", dtype=jnp.float32) -> jax.Array:
    self.resolve_faces(faces, argname="faces")
    return self.device_stored(self.boundary, key, n, dtype)

  def normals(self, x, faces=None):
    """Normals of the nearest stored boundary point (traceable)."""
    if self.boundary_normals is None:
      raise ValueError(f"{self!r} stores no normals: pass normals= or build it with from_mesh")
    if faces is not None and not callable(faces):
      self.resolve_faces(faces, argname="faces")
    x = jnp.asarray(x)
    b = jnp.asarray(self.boundary, x.dtype)
    nearest = jnp.argmin(jnp.sum((x[..., None, :] - b) ** 2, axis=-1), axis=-1)
    return jnp.asarray(self.boundary_normals, x.dtype)[nearest]

  def distance(self, x, on="boundary"):
    raise TypeError(f"{self!r} has no distance function (it knows points, not the boundary"
                    " between them); impose boundary conditions with a loss term instead")
