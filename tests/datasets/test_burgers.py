import numpy as np
import pytest

from opifex_fit.datasets import burgers, cole_hopf, solve_burgers
from opifex_fit.datasets.burgers import etdrk4_coefficients


@pytest.mark.parametrize("nu,coeffs,n", [(0.1, [1.0, 0.5], 64), (0.01, [1.0, 0.6, 0.3], 256)])
def test_etdrk4_matches_cole_hopf(nu, coeffs, n):
  x = np.arange(n) / n
  u0 = cole_hopf(x, 0.0, nu=nu, coeffs=coeffs)
  ut = solve_burgers(u0, nu=nu, t_final=0.7, dt=5e-3)  # 140 steps, last one shortened
  exact = cole_hopf(x, 0.7, nu=nu, coeffs=coeffs)
  assert np.abs(ut - exact).max() < 1e-9 * max(1.0, np.abs(exact).max())


def test_etdrk4_is_fourth_order_in_time():
  x = np.arange(128) / 128
  c = [1.0, 0.8, 0.1]
  u0, exact = cole_hopf(x, 0, nu=0.02, coeffs=c), cole_hopf(x, 1.0, nu=0.02, coeffs=c)
  errors = [np.abs(solve_burgers(u0, nu=0.02, t_final=1.0, dt=dt) - exact).max()
            for dt in (0.1, 0.05)]
  assert 10 < errors[0] / errors[1] < 24          # 2^4 = 16


def test_contour_coefficients_match_the_direct_formulas():
  lin, h = np.array([-3.0, -40.0]), 0.1
  z = h * lin
  _, _, q, f1, f2, f3 = etdrk4_coefficients(lin, h)
  np.testing.assert_allclose(q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
  np.testing.assert_allclose(f1, h * (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3, rtol=1e-10)
  np.testing.assert_allclose(f2, h * (2 + z + np.exp(z) * (z - 2)) / z**3, rtol=1e-10)
  np.testing.assert_allclose(f3, h * (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3, rtol=1e-10)


def test_dataset_is_deterministic_cached_and_shared_across_resolutions(tmp_path):
  kw = dict(solver_resolution=64, seed=3, nu=0.05, t_final=0.2, dt=1e-2, cache_dir=tmp_path)
  u0, ut = burgers(4, 32, **kw)
  assert u0.shape == ut.shape == (4, 32, 1) and u0.dtype == np.float32
  assert len(list(tmp_path.glob("burgers-*.npz"))) == 1
  fine0, fine_t = burgers(4, 64, **kw)                     # same functions, from the cache
  np.testing.assert_array_equal(fine0[:, ::2], u0)
  np.testing.assert_array_equal(fine_t[:, ::2], ut)
  fresh0, _ = burgers(4, 32, **dict(kw, cache_dir=None))
  np.testing.assert_array_equal(fresh0, u0)
  other0, _ = burgers(4, 32, **dict(kw, seed=4, cache_dir=None))
  assert not np.allclose(other0, u0)
  # The mean of u is conserved by the periodic conservation law.
  np.testing.assert_allclose(ut.mean(axis=1), u0.mean(axis=1), atol=1e-5)


def test_bad_arguments():
  with pytest.raises(ValueError, match="resolution must divide"):
    burgers(2, 48, solver_resolution=64, cache_dir=None)
  with pytest.raises(ValueError, match="even number"):
    solve_burgers(np.zeros(7), nu=0.1, t_final=1.0)
  with pytest.raises(ValueError, match="c_0"):
    cole_hopf(np.zeros(3), 0.0, nu=0.1, coeffs=[1.0, 1.5])
