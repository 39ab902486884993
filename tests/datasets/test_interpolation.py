import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of


def test_linear_field_is_reproduced_from_scattered_nodes():
  nodes = np.random.default_rng(1).uniform(-1, 1, (500, 2))
  axes = (np.linspace(-1, 1, 11), np.linspace(-1, 1, 9))
  grid = of.datasets.scattered_to_grid(nodes, 3 * nodes[:, 0] - nodes[:, 1] + 2, axes)
  assert grid.shape == (11, 9)
  gx, gy = np.meshgrid(*axes, indexing="ij")
  inside = (np.abs(gx) < 0.8) & (np.abs(gy) < 0.8)
  exact = 3 * axes[0][:, None] - axes[1][None, :] + 2
  np.testing.assert_allclose(grid[inside], np.broadcast_to(exact, grid.shape)[inside], atol=1e-9)
  assert np.isfinite(grid).all()   # corners outside the nodes' hull take the nearest node


def test_one_dimensional_and_vector_values():
  x = np.array([[0.0], [1.0], [0.5]])
  grid = of.datasets.scattered_to_grid(x, np.stack([x[:, 0], 2 * x[:, 0]], -1), (np.linspace(0, 1, 5),))
  np.testing.assert_allclose(grid, np.stack([np.linspace(0, 1, 5), np.linspace(0, 2, 5)], -1))


def test_grid_interpolator_traces_inside_jit_and_vmaps():
  axes = (np.linspace(0, 1, 5), np.linspace(0, 2, 5))
  values = axes[0][:, None] ** 2 + axes[1][None, :]
  a = of.datasets.grid_interpolator(axes, values)
  pts = jnp.array([[0.25, 1.0], [0.5, 0.5]])     # on grid lines: bilinear is exact there
  np.testing.assert_allclose(jax.jit(jax.vmap(a))(pts), [0.0625 + 1.0, 0.25 + 0.5], atol=1e-6)
  np.testing.assert_allclose(a(pts), [1.0625, 0.75], atol=1e-6)
  np.testing.assert_allclose(a(jnp.array([0.375, 0.0])), (0.0625 + 0.25) / 2, atol=1e-6)


def test_bad_arguments_are_refused():
  with pytest.raises(ValueError, match="strictly increasing"):
    of.datasets.grid_interpolator((np.array([0.0, 0.0, 1.0]),), np.zeros(3))
  with pytest.raises(ValueError, match=r"values must have shape \(3,\)"):
    of.datasets.grid_interpolator((np.linspace(0, 1, 3),), np.zeros(4))
  with pytest.raises(ValueError, match="values must have shape"):
    of.datasets.scattered_to_grid(np.zeros((5, 2)), np.zeros(4), (np.arange(2.0), np.arange(2.0)))
