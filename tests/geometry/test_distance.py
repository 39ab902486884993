import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of
from geometry.shapes import ELL, plate_with_holes


def grad_norms(domain, pts, on="boundary"):
  grad = jax.jit(jax.vmap(jax.grad(lambda p: domain.distance(p, on))))(jnp.asarray(pts, jnp.float32))
  return np.linalg.norm(np.asarray(grad), axis=1)


def distances(domain, pts, on="boundary"):
  return np.asarray(jax.jit(lambda p: domain.distance(p, on))(jnp.asarray(pts, jnp.float32)))


@pytest.mark.parametrize("domain", [
    of.Disk((0.2, 0.1), 0.7), of.Ball((0.0, 0.0, 0.0), 2.0),
    of.Box({"x": (0, 1), "y": (0, 2)}), of.Polygon(ELL), plate_with_holes(),
])
def test_zero_on_the_boundary_positive_inside(domain):
  rim = domain.sample_boundary(300, seed=0)
  inner = domain.sample_interior(300, seed=0)
  assert np.abs(distances(domain, rim)).max() <= 1e-6
  assert distances(domain, inner[~domain.on_boundary(inner, atol=1e-3)]).min() > 0


def test_unit_gradient_on_smooth_boundaries():
  disk = of.Disk((0.2, 0.1), 0.7)
  np.testing.assert_allclose(grad_norms(disk, disk.sample_boundary(50, seed=0)), 1.0, atol=1e-5)
  box = of.Box({"x": (0, 1), "y": (0, 2)})
  faces = np.array([[0.0, 1.0], [1.0, 0.5], [0.5, 0.0], [0.5, 2.0]])
  np.testing.assert_allclose(grad_norms(box, faces), 1.0, atol=1e-5)
  assert np.all(np.isfinite(grad_norms(box, np.array([[0.0, 0.0], [1.0, 2.0]]))))  # corners
  # Polygon and part distances have a kink exactly on their pieces: check just inside.
  ell = of.Polygon(ELL)
  near = np.array([[0.5, 1e-4], [2 - 1e-4, 0.5], [1.5, 1 - 1e-4], [1e-4, 1.5]])
  np.testing.assert_allclose(grad_norms(ell, near), 1.0, atol=1e-2)
  np.testing.assert_allclose(grad_norms(box, np.array([[0.5, 2 - 1e-4]]), on="y_max"), 1.0, atol=1e-2)


def test_parts_only_vanish_on_their_part():
  box = of.Box({"x": (0, 1), "y": (0, 1)})
  d = distances(box, np.array([[0.0, 0.5], [1.0, 0.5], [0.5, 0.0], [0.25, 0.5]]), on="x_min")
  assert d[0] == 0 and np.all(d[1:] > 0.2)
  # A union: the top face of the lower box lies inside the L and must not vanish there.
  ell = of.Box({"x": (0, 2), "y": (0, 1)}, name="a") | of.Box({"x": (0, 1), "y": (0, 2)}, name="b")
  d = distances(ell, np.array([[0.5, 1.0], [1.5, 1.0], [1.0, 1.5]]), on="a")
  assert d[0] > 0.1 and d[1] == 0 and d[2] > 0.1
  full = distances(ell, np.array([[0.5, 1.0], [1.5, 1.0], [1.0, 1.5]]))
  assert full[0] > 0.1 and abs(full[1]) < 1e-7 and abs(full[2]) < 1e-7


def test_plate_with_holes_transform_is_exact_on_every_rim():
  plate = plate_with_holes()
  g = lambda x: jnp.sin(3 * x[..., 0]) + x[..., 1]
  v = lambda x: 5.0 + jnp.cos(7 * x[..., 0] * x[..., 1])  # any network output
  gap = jax.jit(lambda x: g(x) + plate.distance(x, on="hole") * v(x) - g(x))
  rims = plate.sample_boundary(400, on="hole", seed=0)
  outer = plate.sample_boundary(100, on="plate", seed=0)
  gaps = np.abs(np.asarray(gap(jnp.asarray(np.vstack([rims, outer]), jnp.float32))))
  assert gaps[:400].max() <= 1e-6 and gaps[400:].min() > 1e-3  # outer faces stay free


def test_distance_refuses_a_predicate():
  with pytest.raises(TypeError, match="name parts"):
    of.Disk((0, 0), 1).distance(np.zeros(2), on=lambda p: p[:, 0] > 0)
