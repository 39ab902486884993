"""Nodes, boundary nodes and outward normals of a simplex mesh read by meshio.

The boundary is made of the facets that belong to one element only (edges of
triangles in 2-D, faces of tetrahedra in 3-D). Each facet's normal points away
from the element's opposite vertex; a boundary node's normal is the sum of its
facets' normals weighted by facet size (so corners get the average), normalized.

Example:
  >>> import numpy as np
  >>> from opifex_fit.geometry import mesh_reader
  >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
  >>> nodes = mesh_reader.from_cells(square, np.array([[0, 1, 2], [0, 2, 3]]))
  >>> nodes.measure, nodes.boundary_measure, len(nodes.boundary)
  (1.0, 4.0, 4)
  >>> nodes.normals[0].round(6).tolist()  # the corner (0, 0)
  [-0.707107, -0.707107]
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np


class MeshNodes(NamedTuple):
  interior: np.ndarray
  boundary: np.ndarray
  normals: np.ndarray
  measure: float
  boundary_measure: float


def read(path) -> MeshNodes:
  """Reads ``path`` (``.msh``, ``.vtu`` or any format meshio knows)."""
  try:
    import meshio  # optional: the `mesh` extra
  except ImportError as e:
    raise ImportError("PointCloud.from_mesh needs meshio: pip install 'opifex-fit[mesh]'") from e
  mesh = meshio.read(path)
  cells = {}
  for block in mesh.cells:  # Gmsh may split one cell type into blocks (physical groups)
    cells.setdefault(block.type, []).append(block.data)
  cells = {kind: np.concatenate(blocks) for kind, blocks in cells.items()}
  if "tetra" in cells:
    return from_cells(mesh.points[:, :3], cells["tetra"])
  if "triangle" in cells:
    points = mesh.points
    if points.shape[1] == 3 and not np.allclose(points[:, 2], points[0, 2]):
      raise ValueError(f"{path}: a triangle mesh must be planar (constant z) for a 2-D domain")
    return from_cells(points[:, :2], cells["triangle"])
  raise ValueError(f"{path}: expected triangle (2-D) or tetra (3-D) cells; got {sorted(cells)}")


def from_cells(points: np.ndarray, cells: np.ndarray) -> MeshNodes:
  """Boundary facets, node normals and measures of simplices ``cells`` over ``points``."""
  points, cells = np.asarray(points, float), np.asarray(cells, int)
  dim = points.shape[1]
  if cells.shape[1] != dim + 1:
    raise ValueError(f"cells must be simplices with {dim + 1} nodes in {dim}-D; got {cells.shape}")
  edges = points[cells[:, 1:]] - points[cells[:, :1]]
  measure = float(np.abs(np.linalg.det(edges)).sum()) / math.factorial(dim)
  count, owner = {}, {}
  for e, cell in enumerate(cells):
    for facet in itertools.combinations(cell, dim):
      key = tuple(sorted(facet))
      count[key] = count.get(key, 0) + 1
      owner[key] = (facet, e)
  node_normal = np.zeros_like(points)
  boundary_measure = 0.0
  for key, k in count.items():
    if k != 1:
      continue
    facet, e = owner[key]
    opposite = points[[n for n in cells[e] if n not in facet][0]]
    normal = facet_normal(points[list(facet)])
    if np.dot(normal, opposite - points[facet[0]]) > 0:
      normal = -normal
    boundary_measure += float(np.linalg.norm(normal)) / math.factorial(dim - 1)
    node_normal[list(facet)] += normal
  on_boundary = np.linalg.norm(node_normal, axis=1) > 0
  used = np.zeros(len(points), bool)
  used[cells.ravel()] = True
  normals = node_normal[on_boundary]
  return MeshNodes(points[used & ~on_boundary], points[on_boundary],
                   normals / np.linalg.norm(normals, axis=1, keepdims=True), measure, boundary_measure)


def facet_normal(corners: np.ndarray) -> np.ndarray:
  """A normal of a facet, its length the edge length (2-D) or twice the area (3-D)."""
  if len(corners) == 2:
    d = corners[1] - corners[0]
    return np.array([d[1], -d[0]])
  return np.cross(corners[1] - corners[0], corners[2] - corners[0])
