import numpy as np
import pytest

import opifex_fit as of


def test_box_interior_and_faces_stay_in_place():
  box = of.Box({"x": (0.0, 1.0), "y": (-1.0, 2.0)})
  for method in ("uniform", "sobol", "halton"):
    pts = box.sample_interior(257, seed=1, method=method)
    assert pts.shape == (257, 2)
    assert np.all(pts >= box.low) and np.all(pts <= box.high)
  top = box.sample_boundary(50, on="top")
  np.testing.assert_array_equal(top[:, 1], 2.0)
  b = box.sample_boundary(400, seed=0)
  on_face = np.isclose(b[:, 0], 0) | np.isclose(b[:, 0], 1) | np.isclose(b[:, 1], -1) | np.isclose(b[:, 1], 2)
  assert on_face.all()
  # Points follow face length: x faces have length 3, y faces length 1 (perimeter 8).
  assert np.isclose(b[:, 0], 0).sum() == 150 and np.isclose(b[:, 1], 2).sum() == 50


def test_time_is_not_boundary_and_initial_slice():
  box = of.Box({"x": (0.0, 1.0), "t": (0.0, 2.0)})
  assert box.spatial == ("x",) and box.face_names() == ("x_min", "x_max")
  assert box.resolve_faces("left") == ("x_min",)
  b = box.sample_boundary(100)
  assert np.all(np.isin(b[:, 0], [0.0, 1.0])) and b[:, 1].min() >= 0 and b[:, 1].max() <= 2
  ic = box.sample_initial(10)
  np.testing.assert_array_equal(ic[:, 1], 0.0)


def test_predicate_selects_part_of_boundary():
  box = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
  pts = box.sample_boundary(30, on=lambda p: p[:, 0] < 0.5)
  assert pts.shape == (30, 2) and np.all(pts[:, 0] < 0.5)


def test_outward_normals_average_at_corners():
  box = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
  n = np.asarray(box.normals(np.array([[0.0, 0.3], [0.4, 1.0], [1.0, 1.0]])))
  np.testing.assert_allclose(n, [[-1, 0], [0, 1], [2 ** -0.5, 2 ** -0.5]], atol=1e-7)


def test_normals_of_one_face_do_not_average_at_its_corners():
  # Issue 12, L1: a Neumann condition on x_max only has normal (1, 0) at its corners.
  box = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
  corners = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.5]])
  np.testing.assert_allclose(np.asarray(box.normals(corners, faces="x_max")),
                             [[1, 0], [1, 0], [1, 0]], atol=1e-7)
  np.testing.assert_allclose(np.asarray(box.normals(corners, faces="top")),
                             [[0, 1], [0, 0], [0, 0]], atol=1e-7)
  np.testing.assert_allclose(np.asarray(box.normals(corners, faces=("x_max", "y_min")))[1],
                             [2 ** -0.5, -(2 ** -0.5)], atol=1e-7)
  np.testing.assert_allclose(np.asarray(box.normals(corners, faces="boundary"))[0],
                             [2 ** -0.5, 2 ** -0.5], atol=1e-7)


def test_normals_refuse_an_unknown_face():
  with pytest.raises(ValueError, match="faces='z_max'"):
    of.Box({"x": (0.0, 1.0)}).normals(np.zeros((1, 1)), faces="z_max")


@pytest.mark.parametrize("bounds, match", [
    ({}, "non-empty"), ({"x": (1.0, 0.0)}, "inverted"), ({"x": (0.0, 0.0)}, "empty"),
    ({"x": (0.0, np.inf)}, "finite"), ({"x": 3}, "pair"),
])
def test_bad_boxes(bounds, match):
  with pytest.raises(ValueError, match=match):
    of.Box(bounds)


def test_bad_faces_and_counts():
  box = of.Interval("x", 0, 1)
  with pytest.raises(ValueError, match="'z_min' is not a face"):
    box.sample_boundary(4, on="z_min")
  with pytest.raises(ValueError, match="n_interior must be a positive int"):
    box.sample_interior(0)
  with pytest.raises(ValueError, match="coordinate named 't'"):
    box.sample_initial(3)
  with pytest.raises(ValueError, match="method must be one of"):
    box.sample_interior(3, method="lhs")
