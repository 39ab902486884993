"""Gaussian random fields: the input functions of the operator benchmarks.

* ``periodic_grf_1d``: ``N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))`` on the
  periodic unit interval (Li et al. 2021 use sigma=25, tau=5, alpha=2 for
  Burgers initial conditions), sampled from its Karhunen-Loeve (Fourier)
  expansion.
* ``neumann_grf_2d``: ``N(0, (-Laplacian + tau^2 I)^(-alpha))`` with zero
  Neumann conditions on the unit square (cosine expansion; Li et al. threshold
  it at zero for the Darcy permeability, alpha=2, tau=3).
* ``rbf_grf_1d``: a zero-mean GP with the squared-exponential kernel
  ``exp(-|x - x'|^2 / (2 l^2))`` (Lu et al. 2021 use l=0.2 for DeepONet).

All take a ``numpy.random.Generator`` so a dataset is a pure function of its
seed.

Example:
  >>> rng = np.random.default_rng(0)
  >>> periodic_grf_1d(4, 256, rng=rng).shape
  (4, 256)
"""

from __future__ import annotations

import numpy as np


def _check_rng(rng) -> np.random.Generator:
  if not isinstance(rng, np.random.Generator):
    raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed));"
                    f" got {type(rng).__name__}")
  return rng


def _check_count(value, name: str, minimum: int = 1) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
  return int(value)


def periodic_eigenvalues(n: int, *, alpha: float, tau: float, sigma: float) -> np.ndarray:
  """Covariance eigenvalues for the rfft wavenumbers ``k = 0..n//2`` on [0, 1)."""
  k = np.arange(n // 2 + 1)
  return sigma**2 * ((2 * np.pi * k) ** 2 + tau**2) ** (-alpha)


def periodic_grf_1d(n_samples: int, n: int, *, alpha: float = 2.0, tau: float = 5.0,
                    sigma: float = 25.0, rng: np.random.Generator) -> np.ndarray:
  """Samples on the grid ``x_j = j / n``; returns float64 ``(n_samples, n)``.

  ``u = sqrt(l_0) xi_0 + sum_k sqrt(2 l_k) (a_k cos 2 pi k x + b_k sin 2 pi k x)``
  for ``k = 1 .. n//2 - 1`` (the Nyquist mode is dropped: it has no sine
  partner), with independent standard normal ``xi_0, a_k, b_k``.
  """
  n_samples, n = _check_count(n_samples, "n_samples"), _check_count(n, "n", 4)
  rng = _check_rng(rng)
  lam = periodic_eigenvalues(n, alpha=alpha, tau=tau, sigma=sigma)
  a = rng.standard_normal((n_samples, n // 2 + 1))
  b = rng.standard_normal((n_samples, n // 2 + 1))
  # irfft(C)[j] = (C_0 + 2 sum_k Re(C_k e^{2 pi i k j / n})) / n.
  coef = n * np.sqrt(lam / 2) * (a - 1j * b)
  coef[:, 0] = n * np.sqrt(lam[0]) * a[:, 0]
  coef[:, n // 2] = 0.0
  return np.fft.irfft(coef, n=n, axis=-1)


def neumann_grf_2d(n_samples: int, n: int, *, alpha: float = 2.0, tau: float = 3.0,
                   n_modes: int | None = None, rng: np.random.Generator) -> np.ndarray:
  """Samples on the node grid ``linspace(0, 1, n)^2``; returns ``(n_samples, n, n)``.

  ``u = sum_{k != 0} sqrt(l_k) xi_k c_k1(x) c_k2(y)`` with the orthonormal
  Neumann eigenfunctions ``c_0 = 1``, ``c_k = sqrt(2) cos(pi k x)`` and
  eigenvalues ``l_k = (pi^2 |k|^2 + tau^2)^(-alpha)``; the constant mode is
  left out, as in Li et al.'s generator, so the field has zero mean.
  ``n_modes`` modes per axis are kept (default ``n``).
  """
  n_samples, n = _check_count(n_samples, "n_samples"), _check_count(n, "n", 2)
  n_modes = n if n_modes is None else _check_count(n_modes, "n_modes")
  rng = _check_rng(rng)
  k = np.arange(n_modes)
  x = np.linspace(0.0, 1.0, n)
  basis = np.where(k == 0, 1.0, np.sqrt(2.0)) * np.cos(np.pi * np.outer(x, k))  # (n, K)
  lam = (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + tau**2) ** (-alpha)
  lam[0, 0] = 0.0
  xi = rng.standard_normal((n_samples, n_modes, n_modes)) * np.sqrt(lam)
  return np.einsum("ik,skl,jl->sij", basis, xi, basis, optimize=True)


def rbf_grf_1d(n_samples: int, x: np.ndarray, *, length_scale: float = 0.2,
               rng: np.random.Generator) -> np.ndarray:
  """Samples the squared-exponential GP at the points ``x``; ``(n_samples, len(x))``.

  Uses the eigen-decomposition of the kernel matrix (clipping the round-off
  negative eigenvalues), which stays stable where a Cholesky would need jitter.
  """
  n_samples = _check_count(n_samples, "n_samples")
  rng = _check_rng(rng)
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 1 or x.size < 2:
    raise ValueError(f"x must be a 1-D array of at least 2 points; got shape {x.shape}")
  if not length_scale > 0:
    raise ValueError(f"length_scale must be positive; got {length_scale!r}")
  cov = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / length_scale**2)
  w, v = np.linalg.eigh(cov)
  root = v * np.sqrt(np.clip(w, 0.0, None))
  return rng.standard_normal((n_samples, x.size)) @ root.T
