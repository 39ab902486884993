"""1-D viscous Burgers ``u_t + (u^2/2)_x = nu u_xx`` on the periodic unit interval.

The operator-learning benchmark of Li et al. (ICLR 2021): learn
``u(., 0) -> u(., T)`` for Gaussian-random-field initial conditions
``N(0, 625 (-Laplacian + 25 I)^(-2))``, ``nu = 0.1``, ``T = 1``.

Solver: Fourier pseudo-spectral in space (2/3-rule dealiasing) with the
ETDRK4 time stepper of Cox & Matthews (2002), its coefficients computed by
the contour integral of Kassam & Trefethen (2005) so the stiff diffusion is
integrated exactly and the step is limited only by the advection. The
solution is computed on ``solver_resolution`` points and subsampled, so one
set of functions serves several training/evaluation resolutions.
``cole_hopf`` gives exact solutions that the tests compare against.

Example:
  >>> u0, uT = burgers(8, resolution=64, solver_resolution=128, cache_dir=None)
  >>> u0.shape, uT.shape
  ((8, 64, 1), (8, 64, 1))
"""

from __future__ import annotations

import numpy as np

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.grf import _check_count, periodic_grf_1d


def etdrk4_coefficients(lin: np.ndarray, dt: float, n_contour: int = 32):
  """``exp(dt L)``, ``exp(dt L / 2)`` and the ETDRK4 weights ``Q, f1, f2, f3``.

  ``phi``-functions of ``dt L`` are averaged over a circle of radius 1 around
  each ``dt L`` (Kassam & Trefethen 2005), which avoids the cancellation of
  the direct formulas for small ``|dt L|``.
  """
  hl = dt * lin
  r = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
  lr = hl[..., None] + r
  e_lr = np.exp(lr)
  q = dt * np.mean((np.exp(lr / 2) - 1) / lr, axis=-1).real
  f1 = dt * np.mean((-4 - lr + e_lr * (4 - 3 * lr + lr**2)) / lr**3, axis=-1).real
  f2 = dt * np.mean((2 + lr + e_lr * (lr - 2)) / lr**3, axis=-1).real
  f3 = dt * np.mean((-4 - 3 * lr - lr**2 + e_lr * (4 - lr)) / lr**3, axis=-1).real
  return np.exp(hl), np.exp(hl / 2), q, f1, f2, f3


def solve_burgers(u0: np.ndarray, *, nu: float, t_final: float, dt: float = 1e-3) -> np.ndarray:
  """Integrates Burgers from ``u0`` (``(..., n)`` on ``x_j = j/n``) to ``t_final``.

  The last step is shortened so the solution lands exactly on ``t_final``.
  """
  u0 = np.asarray(u0, dtype=np.float64)
  if u0.ndim < 1 or u0.shape[-1] < 4 or u0.shape[-1] % 2:
    raise ValueError(f"u0 must have an even number (>= 4) of grid points on its last axis;"
                     f" got shape {u0.shape}")
  if not (nu > 0 and t_final >= 0 and dt > 0):
    raise ValueError(f"need nu > 0, t_final >= 0, dt > 0; got nu={nu}, t_final={t_final},"
                     f" dt={dt}")
  n = u0.shape[-1]
  k = 2 * np.pi * np.fft.rfftfreq(n, d=1.0 / n)
  keep = np.arange(k.size) < (n // 3)                  # 2/3 rule: |k| < n/3 survives
  dx_half = -0.5j * k * keep

  def nonlinear(v):  # -(u^2 / 2)_x in Fourier space, dealiased
    return dx_half * np.fft.rfft(np.fft.irfft(v, n=n) ** 2)

  v = np.fft.rfft(u0)
  n_full = int(np.floor(t_final / dt + 1e-9))
  steps = [(dt, n_full)]
  rest = t_final - n_full * dt
  if rest > 1e-12 * max(1.0, t_final):
    steps.append((rest, 1))
  for h, count in steps:
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(-nu * k**2, h)
    for _ in range(count):
      nv = nonlinear(v)
      a = e2 * v + q * nv
      na = nonlinear(a)
      b = e2 * v + q * na
      nb = nonlinear(b)
      c = e2 * a + q * (2 * nb - nv)
      nc = nonlinear(c)
      v = e * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc
  return np.fft.irfft(v, n=n)


def cole_hopf(x: np.ndarray, t: float, *, nu: float, coeffs) -> np.ndarray:
  """An exact periodic Burgers solution via the Cole-Hopf transform.

  ``u = -2 nu phi_x / phi`` where ``phi = c_0 + sum_k c_k exp(-nu (2 pi k)^2 t)
  cos(2 pi k x)`` solves the heat equation; ``coeffs = (c_0, c_1, ...)`` with
  ``c_0 > sum_k |c_k|`` keeps ``phi`` positive.
  """
  coeffs = np.asarray(coeffs, dtype=np.float64)
  if coeffs[0] <= np.abs(coeffs[1:]).sum():
    raise ValueError(f"coeffs must satisfy c_0 > sum |c_k| (phi > 0); got {coeffs}")
  x = np.asarray(x, dtype=np.float64)
  phi, phi_x = np.full_like(x, coeffs[0]), np.zeros_like(x)
  for kk, c in enumerate(coeffs[1:], start=1):
    w = 2 * np.pi * kk
    decay = c * np.exp(-nu * w**2 * t)
    phi += decay * np.cos(w * x)
    phi_x -= decay * w * np.sin(w * x)
  return -2 * nu * phi_x / phi


def burgers(n_samples: int, resolution: int = 256, *, nu: float = 0.1, t_final: float = 1.0,
            seed: int = 0, solver_resolution: int = 1024, dt: float = 1e-3,
            cache_dir=DEFAULT) -> tuple[np.ndarray, np.ndarray]:
  """``(u0, uT)``, each float32 ``(n_samples, resolution, 1)`` on ``x_j = j / resolution``.

  Deterministic from ``seed``: the initial conditions are drawn on the
  ``solver_resolution`` grid, so every ``resolution`` dividing it sees the same
  functions (train at 256, evaluate the same test functions at 512). The
  solver output is cached in ``cache_dir`` (see ``cached``).
  """
  n_samples = _check_count(n_samples, "n_samples")
  resolution = _check_count(resolution, "resolution", 4)
  solver_resolution = _check_count(solver_resolution, "solver_resolution", 4)
  if solver_resolution % resolution:
    raise ValueError(f"resolution must divide solver_resolution={solver_resolution};"
                     f" got {resolution}")

  def make():
    rng = np.random.default_rng(seed)
    u0 = periodic_grf_1d(n_samples, solver_resolution, rng=rng)
    ut = solve_burgers(u0, nu=nu, t_final=t_final, dt=dt)
    return {"u0": u0.astype(np.float32), "uT": ut.astype(np.float32)}

  params = {"n": n_samples, "nu": nu, "T": t_final, "seed": seed, "s": solver_resolution,
            "dt": dt}
  data = cached("burgers", params, make, cache_dir)
  stride = solver_resolution // resolution
  return data["u0"][:, ::stride, None], data["uT"][:, ::stride, None]
