"""Checks of the periodic Allen-Cahn reference, each independent of the solver.

Measured on the full problem (D = 1e-4, u0 = x^2 cos(pi x), the 200 output
times of linspace(0, 1, 201)[1:], on the 512-point grid), max abs differences:
N 2048 vs 4096: 1.6e-7 (at t = 0.005; 1.1e-13 at t = 1); N 4096 vs 8192:
3.8e-12; dt 2.5e-4 vs 1.25e-4: 1.2e-11; dt 1e-4 vs 1.25e-4: 1.4e-11 (a
round-off floor of ~1e-11 over 4000-10000 steps). The slow test repeats one.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from opifex_fit.datasets.allen_cahn import (
    allen_cahn,
    homogeneous_solution,
    solve_allen_cahn,
    x2cos_coefficients,
)


def _grid(n):
  return -1.0 + 2.0 * np.arange(n) / n


def test_initial_coefficients_match_quadrature():
  n = 64
  xg, wg = np.polynomial.legendre.leggauss(200)     # exact for this smooth integrand on [-1, 1]
  k = np.arange(n // 2)
  c = np.array([0.5 * np.sum(wg * xg**2 * np.cos(np.pi * xg) * np.cos(np.pi * kk * xg)) for kk in k])
  np.testing.assert_allclose(x2cos_coefficients(n)[:-1] / n, c * (-1.0) ** k, atol=1e-15)
  # The truncated series converges to u0 away from the kink at x = +-1.
  x = _grid(1024)
  u = np.fft.irfft(x2cos_coefficients(1024), n=1024)
  inner = np.abs(x) < 0.5
  np.testing.assert_allclose(u[inner], (x**2 * np.cos(np.pi * x))[inner], atol=1e-5)


@pytest.mark.parametrize("c", [0.3, -0.7, 1.2])
def test_homogeneous_data_follow_the_closed_form_ode_solution(c):
  times = [0.1, 0.5, 1.0]
  u = solve_allen_cahn(np.full(16, c), times=times, diffusion=1e-4, dt=1e-3)
  np.testing.assert_allclose(u, np.repeat(homogeneous_solution(c, times)[:, None], 16, 1),
                             atol=2e-12)


def test_linear_part_is_exact():
  x = _grid(32)
  u0 = np.cos(np.pi * x) + 0.3 * np.sin(3 * np.pi * x)
  d, a, t = 0.05, 5.0, 0.7
  u = solve_allen_cahn(u0, times=[t], diffusion=d, dt=0.1, rates=(a, 0.0))[0]
  exact = (np.exp((a - d * np.pi**2) * t) * np.cos(np.pi * x)
           + 0.3 * np.exp((a - 9 * d * np.pi**2) * t) * np.sin(3 * np.pi * x))
  np.testing.assert_allclose(u, exact, atol=1e-12 * np.abs(exact).max())


def _method_of_lines(u0, d, t):
  """The same PDE, collocation in physical space, integrated by DOP853 (no ETD)."""
  n = u0.size
  k2 = (np.pi * np.fft.rfftfreq(n, d=1.0 / n)) ** 2

  def rhs(_, u):
    return d * np.fft.irfft(-k2 * np.fft.rfft(u), n=n) + 5 * u - 5 * u**3

  return solve_ivp(rhs, (0, t), u0, method="DOP853", rtol=1e-13, atol=1e-14).y[:, -1]


def test_agrees_with_an_independent_explicit_integrator():
  # D = 0.05: interfaces of width sqrt(2 D / 5) ~ 0.14, resolved to ~1e-16 on 128 points.
  x = _grid(128)
  u0 = 0.5 * np.sin(np.pi * x) + 0.2 * np.cos(2 * np.pi * x)
  u = solve_allen_cahn(u0, times=[0.5], diffusion=0.05, dt=2e-3)[0]
  np.testing.assert_allclose(u, _method_of_lines(u0, 0.05, 0.5), atol=1e-11)


def test_fourth_order_in_time():
  v0 = x2cos_coefficients(128)
  kw = {"times": [0.3], "diffusion": 0.01, "spectral": True}
  ref = solve_allen_cahn(v0, dt=2.5e-3, **kw)
  errors = [np.abs(solve_allen_cahn(v0, dt=dt, **kw) - ref).max() for dt in (0.04, 0.02)]
  assert 11 < errors[0] / errors[1] < 22                  # 2^4 = 16


def test_convergence_in_space_from_the_kinked_data():
  # The modes cut from the kinked u0 act through u^3 before diffusion kills them:
  # an O(n^-5) error (2^5 = 32), instead of the O(n^-2) of sampling u0 on the grid.
  kw = {"times": [0.5], "diffusion": 0.01, "dt": 1e-3, "spectral": True}
  fine = solve_allen_cahn(x2cos_coefficients(512), **kw)[0]
  errors = [np.abs(solve_allen_cahn(x2cos_coefficients(n), **kw)[0] - fine[::512 // n]).max()
            for n in (128, 256)]
  assert errors[1] < 1e-11 and errors[0] / errors[1] > 16


def test_dataset_grid_symmetry_and_cache(tmp_path):
  kw = {"n_t": 5, "diffusion": 1e-2, "t_final": 0.4, "solver_resolution": 128, "dt": 1e-2}
  t, x, u = allen_cahn(64, cache_dir=tmp_path, **kw)
  assert u.shape == (5, 64) and t.shape == (5,) and x[0] == -1.0 and u.dtype == np.float64
  np.testing.assert_array_equal(u[0], x**2 * np.cos(np.pi * x))     # exact u0 row
  np.testing.assert_allclose(u[:, 1:], u[:, :0:-1], atol=1e-13)     # u stays even in x
  assert len(list(tmp_path.glob("allen_cahn-*.npz"))) == 1
  _, _, again = allen_cahn(64, cache_dir=tmp_path, **kw)
  np.testing.assert_array_equal(again, u)
  _, _, coarse = allen_cahn(32, cache_dir=tmp_path, **kw)          # same cache file
  np.testing.assert_array_equal(coarse, u[:, ::2])
  assert len(list(tmp_path.glob("allen_cahn-*.npz"))) == 1


def test_bad_arguments():
  with pytest.raises(ValueError, match="even int"):
    solve_allen_cahn(np.zeros(7), times=[1.0])
  with pytest.raises(ValueError, match="times"):
    solve_allen_cahn(np.zeros(8), times=[0.5, 0.2])
  with pytest.raises(ValueError, match="n_x must divide"):
    allen_cahn(48, solver_resolution=64, cache_dir=None)


@pytest.mark.slow
def test_full_reference_is_self_consistent():
  t = np.linspace(0, 1, 21)[1:]
  a = solve_allen_cahn(x2cos_coefficients(4096), times=t, dt=2.5e-4, spectral=True)
  b = solve_allen_cahn(x2cos_coefficients(8192), times=t, dt=1e-4, spectral=True)[:, ::2]
  assert np.abs(a - b).max() < 1e-10
