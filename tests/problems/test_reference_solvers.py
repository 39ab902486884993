import numpy as np
import pytest

from opifex_fit.problems.reference_solvers import burgers_sine, burgers_sine_grid


def test_burgers_matches_basdevant_shock_slope():
  # Basdevant et al. (1986): max |u_x| = 152.00516 at x = 0, t = 1.6037 / pi.
  t, h = 1.6037 / np.pi, 1e-5
  slope = (burgers_sine(np.array([h]), t) - burgers_sine(np.array([-h]), t))[0] / (2 * h)
  assert slope == pytest.approx(-152.00516, rel=2e-6)


def test_burgers_initial_boundary_and_symmetry():
  x = np.linspace(-1, 1, 9)
  np.testing.assert_allclose(burgers_sine(x, 0.0), -np.sin(np.pi * x))
  u = burgers_sine(x, 0.7)
  np.testing.assert_allclose(u[[0, -1]], 0.0, atol=1e-12)
  np.testing.assert_allclose(u, -u[::-1], atol=1e-12)        # odd in x
  _, _, grid = burgers_sine_grid(16, 4)
  assert grid.shape == (4, 16) and np.abs(grid).max() <= 1.0
  with pytest.raises(ValueError, match="t >= 0"):
    burgers_sine(x, -1.0)


def test_burgers_grid_is_deepxde_grid():
  # DeepXDE's Burgers.npz (used by Wu et al.): x = linspace(-1, 1, 256), t = 0, 0.01, ..., 0.99.
  x, t, u = burgers_sine_grid()
  assert x.shape == (256,) and x[0] == -1.0 and x[-1] == 1.0
  np.testing.assert_allclose(t, np.arange(100) * 0.01, atol=1e-15)
  assert u.shape == (100, 256)
  np.testing.assert_allclose(u[0], -np.sin(np.pi * x), atol=1e-12)


@pytest.mark.slow
def test_poisson_example_reaches_target():
  import importlib.util
  spec = importlib.util.spec_from_file_location("poisson_pinn", "examples/poisson_pinn.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert module.main(logdir="", verbose=0) <= 1e-3
