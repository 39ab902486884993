import numpy as np
import pytest

import opifex_fit as of
from geometry.shapes import ELL, normals


def distance_to_edges(pts, vertices):
  v = np.asarray(vertices, float)
  a, b = v, np.roll(v, -1, axis=0)
  d = pts[:, None, :] - a
  t = np.clip(np.sum(d * (b - a), -1) / np.sum((b - a) ** 2, -1), 0, 1)
  return np.min(np.linalg.norm(d - t[..., None] * (b - a), axis=-1), axis=1)


@pytest.mark.parametrize("vertices", [ELL, ELL[::-1]])
def test_l_shape_measures_and_samples(vertices):
  ell = of.Polygon(vertices, name="ell")
  assert ell.measure == 3.0 and ell.part_measure("ell") == 8.0
  pts = ell.sample_interior(400, seed=0, method="halton")
  assert not np.any((pts[:, 0] > 1) & (pts[:, 1] > 1)) and np.all((pts >= 0) & (pts <= 2))
  rim = ell.sample_boundary(800, seed=0)
  assert distance_to_edges(rim, vertices).max() <= 1e-6
  # Spread by length: the two unit edges of the notch carry 2/8 of the points.
  notch = (np.isclose(rim[:, 0], 1) & (rim[:, 1] >= 1)) | (np.isclose(rim[:, 1], 1) & (rim[:, 0] >= 1))
  assert notch.sum() == pytest.approx(200, abs=45)


def test_normals_of_edges_and_vertices():
  ell = of.Polygon(ELL[::-1])  # clockwise input: normals still point out
  x = np.array([[1.0, 0.0], [2.0, 0.5], [1.5, 1.0], [1.0, 1.5], [0.0, 1.0], [2.0, 0.0]])
  np.testing.assert_allclose(normals(ell, x),
                             [[0, -1], [1, 0], [0, 1], [1, 0], [-1, 0], [2 ** -0.5, -(2 ** -0.5)]],
                             atol=1e-6)


def test_triangle_contains_and_boundary():
  tri = of.Polygon([(0, 0), (3, 0), (0, 4)])
  assert tri.measure == 6.0 and tri.part_measure("polygon") == 12.0
  assert tri.contains(np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 4.0]])).tolist() == [True, False, True]
  assert tri.on_boundary(np.array([[1.5, 2.0], [1.0, 1.0]])).tolist() == [True, False]


@pytest.mark.parametrize("vertices, match", [
    ([(0, 0), (1, 0)], "at least 3"),
    ([(0, 0), (1, 1), (1, 0), (0, 1)], "simple polygon; edges 0"),  # a bow tie
    ([(0, 0), (2, 0), (1, 0), (1, 1)], "simple polygon"),  # folds back on itself
    ([(0, 0), (1, 0), (1, 0), (0, 1)], "length 0"),
])
def test_bad_polygons(vertices, match):
  with pytest.raises(ValueError, match=match):
    of.Polygon(vertices)
