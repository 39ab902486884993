import numpy as np
import pytest

from opifex_fit.datasets import neumann_grf_2d, periodic_grf_1d, rbf_grf_1d
from opifex_fit.datasets.grf import periodic_eigenvalues


def test_periodic_grf_has_the_covariance_of_its_expansion():
  n = 64
  u = periodic_grf_1d(4000, n, rng=np.random.default_rng(0))
  lam = periodic_eigenvalues(n, alpha=2.0, tau=5.0, sigma=25.0)
  # Var u(x) = l_0 + sum_{k=1}^{n/2-1} 2 l_k at every x (stationary field).
  var = lam[0] + 2 * lam[1:n // 2].sum()
  assert abs(u.var(axis=0).mean() / var - 1) < 0.05
  # Each Fourier mode carries its own eigenvalue: E|u_hat_k|^2 = n^2 l_k.
  power = (np.abs(np.fft.rfft(u, axis=1)) ** 2).mean(axis=0)
  np.testing.assert_allclose(power[1:5], n**2 * lam[1:5], rtol=0.1)


def test_neumann_grf_pointwise_variance_and_zero_mean_mode():
  n = 17
  u = neumann_grf_2d(3000, n, n_modes=12, rng=np.random.default_rng(1))
  k = np.arange(12)
  lam = (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + 9.0) ** -2.0
  lam[0, 0] = 0.0
  c = np.where(k == 0, 1.0, np.sqrt(2)) * np.cos(np.pi * k * 0.5)   # basis at x = 0.5
  var_center = np.einsum("k,kl,l->", c**2, lam, c**2)
  assert abs(u[:, 8, 8].var() / var_center - 1) < 0.08
  # The constant mode is excluded, so every sample integrates to ~0.
  assert np.abs(np.trapezoid(np.trapezoid(u, dx=1 / 16, axis=2), dx=1 / 16, axis=1)).max() < 0.05


def test_rbf_grf_covariance_and_determinism():
  x = np.linspace(0, 1, 6)
  u = rbf_grf_1d(20000, x, length_scale=0.2, rng=np.random.default_rng(2))
  cov = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / 0.04)
  np.testing.assert_allclose(np.cov(u.T), cov, atol=0.04)
  again = rbf_grf_1d(20000, x, length_scale=0.2, rng=np.random.default_rng(2))
  np.testing.assert_array_equal(u, again)


def test_bad_arguments():
  with pytest.raises(TypeError, match="rng"):
    periodic_grf_1d(2, 16, rng=0)
  with pytest.raises(ValueError, match="n_samples"):
    periodic_grf_1d(0, 16, rng=np.random.default_rng(0))
  with pytest.raises(ValueError, match="length_scale"):
    rbf_grf_1d(2, np.linspace(0, 1, 4), length_scale=0.0, rng=np.random.default_rng(0))
