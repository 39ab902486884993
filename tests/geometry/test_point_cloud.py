import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of

meshio = pytest.importorskip("meshio")


def unit_square(n: int):
  """An n x n grid of the unit square, each cell cut into two triangles."""
  g = np.linspace(0.0, 1.0, n + 1)
  xy = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
  idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
  a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
  return xy, np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


@pytest.mark.parametrize("suffix", [".msh", ".vtu"])
def test_from_mesh_reads_a_triangulated_square(tmp_path, suffix):
  xy, tri = unit_square(4)
  path = tmp_path / f"square{suffix}"
  points = np.c_[xy, np.zeros(len(xy))]  # meshio writes 3-D points; z = 0 is planar
  fmt = {"file_format": "gmsh22", "binary": False} if suffix == ".msh" else {}
  meshio.write(str(path), meshio.Mesh(points, [("triangle", tri)]), **fmt)
  cloud = of.PointCloud.from_mesh(path, name="walls")
  assert cloud.names == ("x", "y") and len(cloud.interior) == 9 and len(cloud.boundary) == 16
  b = cloud.boundary
  assert np.all((np.isclose(b, 0) | np.isclose(b, 1)).any(axis=1))  # each on an edge
  assert cloud.measure == pytest.approx(1.0) and cloud.part_measure("walls") == pytest.approx(4.0)
  # Outward normals: mid-edge nodes get the edge's normal, corners the diagonal.
  n = np.asarray(cloud.normals(np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 0.25], [1.0, 1.0]])))
  np.testing.assert_allclose(n, [[-1, 0], [0, 1], [1, 0], [2 ** -0.5, 2 ** -0.5]], atol=1e-6)
  assert np.all(np.sum(cloud.boundary_normals * (b - 0.5), axis=1) > 0)


def test_from_mesh_reads_tetrahedra(tmp_path):
  # The unit cube cut into 12 tetrahedra joining its centre (node 8) to two triangles per face.
  corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
  points = np.vstack([corners, [[0.5, 0.5, 0.5]]])
  tets = []
  for axis in range(3):
    for side in (0, 1):
      ring = [n for n in range(8) if corners[n, axis] == side]
      plane = [i for i in range(3) if i != axis]
      a, b, c, d = sorted(ring, key=lambda n: np.arctan2(*(corners[n] - 0.5)[plane]))
      tets += [[a, b, c, 8], [a, c, d, 8]]
  path = tmp_path / "cube.vtu"
  meshio.write(str(path), meshio.Mesh(points, [("tetra", np.array(tets))]))
  cloud = of.PointCloud.from_mesh(path)
  assert cloud.names == ("x", "y", "z") and len(cloud.interior) == 1 and len(cloud.boundary) == 8
  assert cloud.measure == pytest.approx(1.0) and cloud.part_measure("cloud") == pytest.approx(6.0)
  assert np.all(np.sum(cloud.boundary_normals * (cloud.boundary - 0.5), axis=1) > 0.5)


def test_sampling_draws_stored_points():
  xy, _ = unit_square(4)
  inner = xy[(xy > 0).all(1) & (xy < 1).all(1)]
  edge = xy[~((xy > 0).all(1) & (xy < 1).all(1))]
  cloud = of.PointCloud(inner, boundary=edge)
  pts = cloud.sample_interior(9, seed=0)
  assert len(np.unique(pts, axis=0)) == 9 and cloud.contains(pts).all()  # no repeats while they last
  assert cloud.on_boundary(cloud.sample_boundary(40, seed=0)).all()
  dev = np.asarray(jax.jit(lambda k: cloud.device_boundary(k, 8, "cloud", jnp.float32))(jax.random.key(0)))
  assert cloud.on_boundary(dev).all() and len(np.unique(dev, axis=0)) == 8
  assert not cloud.contains(np.array([[0.1, 0.1]]))[0]


def test_bad_clouds():
  with pytest.raises(ValueError, match="normals need boundary points"):
    of.PointCloud(np.zeros((3, 2)), normals=np.ones((3, 2)))
  with pytest.raises(ValueError, match=r"normals must be 2 non-zero vectors"):
    of.PointCloud(np.zeros((3, 2)), boundary=np.ones((2, 2)), normals=np.ones((3, 2)))
  with pytest.raises(ValueError, match="method='sobol'"):
    of.PointCloud(np.zeros((3, 2))).sample_interior(2, method="sobol")
  with pytest.raises(TypeError, match="CSG"):
    of.PointCloud(np.zeros((3, 2))) - of.Disk((0, 0), 1)


def test_a_cloud_without_boundary_refuses_boundary_sampling():
  cloud = of.PointCloud(np.zeros((3, 2)))
  with pytest.raises(ValueError, match="on='boundary' selects no boundary point"):
    cloud.sample_boundary(2)
