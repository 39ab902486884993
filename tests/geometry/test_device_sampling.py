import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of
from geometry.shapes import plate_with_holes, rim_distance
from opifex_fit.geometry import sampling


def test_csg_device_points_are_valid_reproducible_and_compiled_once():
  plate = plate_with_holes()
  traces = []

  @jax.jit
  def draw(key):
    traces.append(1)
    return (plate.device_interior(key, 2000, jnp.float32),
            plate.device_boundary(key, 500, ("hole",), jnp.float32),
            plate.device_boundary(key, 4000, "boundary", jnp.float32))

  pts, rims, every = draw(jax.random.key(7))
  assert pts.shape == (2000, 2) and pts.dtype == jnp.float32
  assert plate.contains(np.asarray(pts)).all()
  np.testing.assert_array_equal(np.asarray(pts), np.asarray(draw(jax.random.key(7))[0]))
  other = draw(jax.random.key(8))[0]
  assert len(traces) == 1 and not np.array_equal(np.asarray(pts), np.asarray(other))
  assert rims.shape == (500, 2) and rim_distance(rims).max() <= 1e-6
  every = np.asarray(every)
  share = np.mean(rim_distance(every) <= 1e-6)
  assert share == pytest.approx(0.8 * math.pi / (4 + 0.8 * math.pi), abs=0.03)
  assert np.all((rim_distance(every) <= 1e-6) | np.isclose(np.abs(every), 0.5).any(axis=1))


@pytest.mark.parametrize("domain", [
    of.Disk((1.0, 1.0), 0.5), of.Ball(np.zeros(5), 2.0),
    of.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]),
    of.Disk((0.0, 0.0), 1.0) * of.Interval("t", 0.0, 3.0),
])
def test_primitive_device_points_inside_and_on_boundary(domain):
  draw = jax.jit(lambda key: (domain.device_interior(key, 1000, jnp.float32),
                              domain.device_boundary(key, 1000, "boundary", jnp.float32)))
  inner, outer = (np.asarray(p, float) for p in draw(jax.random.key(3)))
  assert inner.shape == outer.shape == (1000, domain.dim)
  assert domain.contains(inner).all() and domain.on_boundary(outer, atol=1e-6).all()


def test_device_ball_fills_volume_uniformly():
  ball = of.Ball(np.zeros(3), 1.0)
  pts = np.asarray(jax.jit(lambda k: ball.device_interior(k, 20000, jnp.float32))(jax.random.key(0)))
  assert np.mean(np.linalg.norm(pts, axis=1) <= 0.5) == pytest.approx(1 / 8, abs=0.01)


def test_shortfall_is_filled_from_the_pool():
  cand = jnp.arange(8.0)[:, None]
  keep = jax.jit(lambda c, k: sampling.keep_accepted(c, c[:, 0] > 5, 4, np.array([[-1.0]]), k))
  kept = keep(cand, jax.random.key(0))
  assert np.asarray(kept)[:, 0].tolist() == [6.0, 7.0, -1.0, -1.0]


def test_oversampling_reaches_n_with_six_sigma():
  m = sampling.oversampled(1000, 0.25)
  mean, sd = m * 0.25, math.sqrt(m * 0.25 * 0.75)
  assert mean - 6 * sd >= 1000 and m < 4800
