"""Checks of the Dirichlet Allen-Cahn reference (Chebyshev collocation, ETDRK4 in the eigenbasis).

Measured on the full problem (D = 1e-3, 100 output times, 201-point grid),
max abs differences: degree 1024 vs 1280: 9.0e-12; 768 vs 1280: 3.6e-12;
dt 5e-4 vs 2.5e-4: 9.1e-12. The slow test repeats a cheaper pair.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from opifex_fit.datasets.allen_cahn_dirichlet import (
    allen_cahn_dirichlet,
    chebyshev_interpolate,
    chebyshev_matrix,
    chebyshev_points,
    solve_allen_cahn_dirichlet,
)


def _u0(x):
  return x**2 * np.cos(np.pi * x)


def test_chebyshev_differentiation_and_interpolation_are_exact_on_polynomials():
  x = chebyshev_points(8)
  assert x[0] == 1.0 and x[-1] == -1.0
  np.testing.assert_allclose(chebyshev_matrix(8) @ (x**5 - 2 * x**3), 5 * x**4 - 6 * x**2,
                             atol=1e-12)
  y = np.array([-0.93, -0.2, 0.0, 0.55, 1.0])
  np.testing.assert_allclose(chebyshev_interpolate(x**7 - x, y), y**7 - y, atol=1e-14)


@pytest.mark.parametrize("even", [False, True])
def test_manufactured_solution(even):
  d, a, b = 0.05, 5.0, 5.0

  def exact(x, t):
    shape = np.cos(x) if even else 1 + 0.5 * np.sin(2 * x)
    return -1 + (1 - x**2) * np.exp(-t) * shape

  def source(x, t):  # u_t - D u_xx - (a u - b u^3) for the exact u, by hand
    u = exact(x, t)
    if even:      # ((1 - x^2) cos x)''
      g_xx = -2 * np.cos(x) + 4 * x * np.sin(x) - (1 - x**2) * np.cos(x)
    else:         # ((1 - x^2) (1 + sin(2x) / 2))''
      g_xx = -2 - np.sin(2 * x) - 4 * x * np.cos(2 * x) - 2 * (1 - x**2) * np.sin(2 * x)
    return -(u + 1) - d * np.exp(-t) * g_xx - (a * u - b * u**3)

  x, u = solve_allen_cahn_dirichlet(lambda y: exact(y, 0.0), times=[0.25, 0.5], degree=24,
                                    diffusion=d, dt=2e-3, source=source, even=even)
  np.testing.assert_allclose(u, np.stack([exact(x, 0.25), exact(x, 0.5)]), atol=1e-11)


def _radau(degree, d, t):
  """The same collocation system with both boundary rows, integrated by Radau IIA (no ETD)."""
  x = chebyshev_points(degree)
  d1 = chebyshev_matrix(degree)
  d2 = d1 @ d1

  def rhs(_, u):
    du = d * (d2 @ u) + 5 * u - 5 * u**3
    du[[0, -1]] = 0.0
    return du

  def jac(_, u):
    j = d * d2 + np.diag(5 - 15 * u**2)
    j[[0, -1]] = 0.0
    return j

  return solve_ivp(rhs, (0, t), _u0(x), method="Radau", jac=jac, rtol=1e-12,
                   atol=1e-13).y[:, -1]


def test_agrees_with_an_independent_implicit_integrator():
  _, u = solve_allen_cahn_dirichlet(_u0, times=[0.5], degree=40, diffusion=0.02, dt=1e-3)
  np.testing.assert_allclose(u[0], _radau(40, 0.02, 0.5), atol=1e-9)


def test_spectral_convergence_in_space_and_fourth_order_in_time():
  kw = {"times": [0.5], "diffusion": 0.1, "even": True}
  xs = np.linspace(-1, 1, 41)

  def run(n, dt):
    return chebyshev_interpolate(solve_allen_cahn_dirichlet(_u0, degree=n, dt=dt, **kw)[1], xs)

  fine = run(128, 5e-3)
  errors = [np.abs(run(n, 5e-3) - fine).max() for n in (32, 64)]   # ~3e-7, ~4e-12
  assert errors[1] < 1e-11 and errors[0] > 1e4 * errors[1]
  ref = run(32, 2.5e-3)
  steps = [np.abs(run(32, dt) - ref).max() for dt in (0.05, 0.025)]
  assert 10 < steps[0] / steps[1] < 24                     # 2^4 = 16


def test_dataset_grid_boundary_and_cache(tmp_path):
  kw = {"n_t": 3, "diffusion": 0.02, "t_final": 0.2, "degree": 32, "dt": 1e-2}
  t, x, u = allen_cahn_dirichlet(21, cache_dir=tmp_path, **kw)
  assert u.shape == (3, 21) and x[0] == -1.0 and x[-1] == 1.0 and t[-1] == 0.2
  np.testing.assert_allclose(u[0], _u0(x), atol=1e-13)
  np.testing.assert_array_equal(u[:, [0, -1]], -1.0)
  np.testing.assert_allclose(u, u[:, ::-1], atol=1e-13)
  assert len(list(tmp_path.glob("allen_cahn_dirichlet-*.npz"))) == 1
  _, _, again = allen_cahn_dirichlet(21, cache_dir=tmp_path, **kw)
  np.testing.assert_array_equal(again, u)


def test_bad_arguments():
  with pytest.raises(ValueError, match="boundary=-1.0"):
    solve_allen_cahn_dirichlet(np.cos, times=[0.1], degree=8)
  with pytest.raises(ValueError, match="even=True"):
    solve_allen_cahn_dirichlet(lambda x: -1 + (1 - x**2) * x, times=[0.1], degree=8, even=True)
  with pytest.raises(ValueError, match="degree"):
    chebyshev_points(1)


@pytest.mark.slow
def test_full_reference_is_self_consistent():
  t = [0.5, 1.0]
  xs = np.linspace(-1, 1, 201)
  runs = [chebyshev_interpolate(solve_allen_cahn_dirichlet(_u0, times=t, degree=n, dt=5e-4,
                                                           even=True)[1], xs)
          for n in (768, 1024)]
  assert np.abs(runs[0] - runs[1]).max() < 1e-10
