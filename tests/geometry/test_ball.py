import math

import numpy as np
import pytest
from scipy import stats

import opifex_fit as of
from geometry.shapes import normals


def test_disk_samples_lie_inside_and_on_the_rim():
  disk = of.Disk((1.0, -2.0), 0.5)
  for method in ("uniform", "sobol", "halton"):
    pts = disk.sample_interior(500, seed=3, method=method)
    assert pts.shape == (500, 2)
    assert np.all(np.hypot(pts[:, 0] - 1, pts[:, 1] + 2) <= 0.5)
    rim = disk.sample_boundary(300, seed=3, method=method)
    np.testing.assert_allclose(np.hypot(rim[:, 0] - 1, rim[:, 1] + 2), 0.5, atol=1e-6)
  assert disk.on_boundary(rim).all() and disk.contains(pts).all()


def test_disk_rim_is_uniform_in_angle():
  rim = of.Disk((0.0, 0.0), 2.0).sample_boundary(2000, seed=0)
  angle = np.arctan2(rim[:, 1], rim[:, 0])
  assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 0.01


def test_disk_interior_is_uniform_in_area():
  pts = of.Disk((0.0, 0.0), 1.0).sample_interior(2000, seed=0)
  r2 = np.sum(pts ** 2, axis=1)  # uniform in area: r^2 ~ U(0, 1)
  assert stats.kstest(r2, "uniform").pvalue > 0.01


def test_measures_are_exact():
  assert of.Disk((0, 0), 2.0).measure == pytest.approx(4 * math.pi)
  assert of.Disk((0, 0), 2.0).part_measure("disk") == pytest.approx(4 * math.pi)
  ball = of.Ball((0, 0, 0), 3.0)
  assert ball.measure == pytest.approx(36 * math.pi)
  assert ball.part_measure("ball") == pytest.approx(36 * math.pi)
  assert of.Ball(np.zeros(5), 1.0).measure == pytest.approx(8 * math.pi ** 2 / 15)
  assert of.Ball((0.0,), 1.0, ("x",)).measure == pytest.approx(2.0)


def test_five_dimensional_ball_samples_inside_and_on_sphere():
  ball = of.Ball(np.ones(5), 2.0)
  pts = ball.sample_interior(1000, seed=1, method="sobol")
  radius = np.linalg.norm(pts - 1, axis=1)
  assert radius.max() <= 2.0
  # Uniform in volume: the fraction within r = 1 is (1/2)^5.
  assert abs(np.mean(radius <= 1.0) - 1 / 32) < 0.01
  np.testing.assert_allclose(np.linalg.norm(ball.sample_boundary(100) - 1, axis=1), 2.0, atol=1e-12)


def test_normals_are_radial():
  ball = of.Ball((0.0, 0.0, 1.0), 2.0)
  x = np.array([[2.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 2 ** 0.5, 1 + 2 ** 0.5]])
  np.testing.assert_allclose(normals(ball, x),
                             [[1, 0, 0], [0, 0, -1], [0, 2 ** -0.5, 2 ** -0.5]], atol=1e-6)
  np.testing.assert_allclose(normals(ball, x[0], faces="ball"), [1, 0, 0], atol=1e-6)


@pytest.mark.parametrize("args, kwargs, match", [
    (((0.0, 0.0, 0.0), 1.0), {}, r"center has 3 coordinates but names=\('x', 'y'\)"),
    (((0.0, 0.0), 0.0), {}, "radius must be a positive finite number; got 0.0"),
    (((0.0, 0.0), -1), {}, "radius must be a positive finite number; got -1"),
    (((0.0, 0.0), 1.0), {"names": ("x", "t")}, "a ball is spatial"),
])
def test_bad_disks(args, kwargs, match):
  with pytest.raises(ValueError, match=match):
    of.Disk(*args, **kwargs)


def test_unknown_part_lists_the_available_ones():
  with pytest.raises(ValueError, match=r"on='rim' is not a part of .*one of \['hole'\]"):
    of.Disk((0, 0), 1, name="hole").sample_boundary(4, on="rim")
