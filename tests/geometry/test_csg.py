import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of
from geometry.shapes import CENTERS, normals, plate_with_holes, rim_distance


def test_square_minus_four_disks_measures():
  plate = plate_with_holes()
  assert plate.measure == pytest.approx(1 - 4 * math.pi * 0.01, rel=1e-2)
  assert plate.part_measure("hole") == pytest.approx(4 * 2 * math.pi * 0.1, rel=1e-2)
  assert plate.part_measure("plate") == pytest.approx(4.0)
  assert plate.part_measure("x_min") == pytest.approx(1.0)
  assert plate.part_names() == ("x_min", "x_max", "y_min", "y_max", "left", "right", "bottom",
                                "top", "plate", "hole")


def test_samples_inside_and_on_the_rims():
  plate = plate_with_holes()
  pts = plate.sample_interior(1000, seed=0, method="sobol")
  assert np.all(np.abs(pts) <= 0.5) and rim_distance(pts).min() >= 0 and plate.contains(pts).all()
  assert np.all([np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) >= 0.1 for cx, cy in CENTERS])
  rims = plate.sample_boundary(400, on="hole", seed=1)
  assert rim_distance(rims).max() <= 1e-6
  every = plate.sample_boundary(1000, seed=2)
  on_rim = rim_distance(every) <= 1e-6
  # Points spread by length: rims 0.8 pi of 4 + 0.8 pi.
  assert on_rim.sum() == pytest.approx(1000 * 0.8 * math.pi / (4 + 0.8 * math.pi), abs=4)
  assert np.all(np.isclose(np.abs(every[~on_rim]), 0.5).any(axis=1))


def test_normals_point_into_the_holes_and_out_of_the_plate():
  plate = plate_with_holes()
  x = np.array([[0.4, 0.3], [-0.3, -0.2], [0.5, 0.0], [0.5, 0.5]])
  np.testing.assert_allclose(normals(plate, x),
                             [[-1, 0], [0, -1], [1, 0], [2 ** -0.5, 2 ** -0.5]], atol=1e-6)
  np.testing.assert_allclose(normals(plate, x, faces="hole"),
                             [[-1, 0], [0, -1], [0, 0], [0, 0]], atol=1e-6)
  np.testing.assert_allclose(normals(plate, x[3], faces="top"), [0, 1], atol=1e-6)
  # Conditions ask point by point (under vmap): the same normals.
  per_point = jax.jit(jax.vmap(lambda p: plate.normals(p, ("hole", "plate"))))(jnp.asarray(x, jnp.float32))
  np.testing.assert_allclose(np.asarray(per_point), normals(plate, x), atol=1e-6)
  with pytest.raises(ValueError, match="coordinate named 't'"):
    plate.sample_initial(3)


def test_nested_union_intersection_difference():
  left = of.Box({"x": (0, 2), "y": (0, 1)}, name="a")
  up = of.Box({"x": (0, 1), "y": (0, 2)}, name="b")
  ell = left | up  # an L of area 3, perimeter 8
  assert ell.measure == pytest.approx(3.0, rel=1e-3)
  assert ell.part_measure("boundary") == pytest.approx(8.0, rel=1e-2)
  np.testing.assert_allclose(normals(ell, np.array([[1.5, 1.0], [1.0, 1.5]])),
                             [[0, 1], [1, 0]], atol=1e-6)
  notched = of.Box({"x": (0, 2), "y": (0, 2)}) - of.Box({"x": (1, 2), "y": (1, 2)}, name="notch")
  # The notch's faces on the outer square (x = 2 or y = 2 above 1) are not boundary.
  assert notched.part_measure("boundary") == pytest.approx(8.0, rel=1e-2)
  assert notched.part_measure("notch") == pytest.approx(2.0, rel=1e-2)
  b = notched.sample_boundary(500, seed=0)
  assert not np.any((b[:, 0] > 1 + 1e-9) & (b[:, 1] > 1 + 1e-9))
  lens = of.Disk((0, 0), 1) & of.Disk((1, 0), 1)  # area 2 pi / 3 - sqrt(3) / 2
  assert lens.measure == pytest.approx(2 * math.pi / 3 - 3 ** 0.5 / 2, rel=1e-3)
  ring = (of.Disk((0, 0), 2, name="outer") - of.Disk((0, 0), 1, name="inner")) - lens
  b = ring.sample_boundary(200, on="inner", seed=0)
  assert ring.contains(b).all() and np.all(np.hypot(b[:, 0], b[:, 1]) <= 1 + 1e-9)


def test_bad_csg_and_empty_parts():
  with pytest.raises(ValueError, match=r"same coordinates; got \('x', 'y'\) and \('u', 'v'\)"):
    of.Disk((0, 0), 1) - of.Disk((0, 0), 1, names=("u", "v"))
  with pytest.raises(TypeError, match="right operand is 3"):
    of.Disk((0, 0), 1) | 3
  far = of.Box({"x": (0, 1), "y": (0, 1)}) - of.Disk((5, 5), 1, name="far")
  with pytest.raises(ValueError, match="on='far' selects no boundary point"):
    far.sample_boundary(10, on="far")
  with pytest.raises(ValueError, match=r"on='hole' is not a part of .*'far'\]"):
    far.sample_boundary(10, on="hole")
  with pytest.raises(ValueError, match="time coordinate"):
    of.Box({"x": (0, 1), "t": (0, 1)}) - of.Box({"x": (0, 0.5), "t": (0, 1)})
