"""Allen-Cahn ``u_t = D u_xx + a u - b u^3`` on the periodic interval ``[-1, 1)``.

The PINN benchmark of Raissi et al. and jaxpi (Wang et al. 2023): ``D = 1e-4``,
``a = b = 5``, ``u(x, 0) = x^2 cos(pi x)``, ``t`` in ``[0, 1]``.

Solver: Fourier pseudo-spectral in space with ETDRK4 in time (Kassam &
Trefethen 2005, who use this very equation), so the stiff ``D u_xx + a u``
is integrated exactly. Two details make it a reference to near machine
precision rather than to the grid's truncation error:

* the periodic extension of ``x^2 cos(pi x)`` has a kink at ``x = +-1``, so
  sampling it on a grid would make an ``O(1/n^2)`` error that never decays;
  the initial Fourier coefficients are computed exactly instead
  (``x2cos_coefficients``), and the ``t = 0`` row is the exact ``u0``;
* the cubic term is evaluated on a grid twice as fine (exact dealiasing of a
  cubic), so the scheme is a Fourier-Galerkin truncation.

The modes cut from the kinked ``u0`` still act through ``u^3`` for the short
time before diffusion kills them, an ``O(n^-5)`` error. Measured for the
defaults (``n = 4096``, ``dt = 2.5e-4``) on the 512-point grid at the 200
output times: ``n`` 4096 vs 8192 differ by 3.8e-12 at most, ``dt`` 2.5e-4 vs
1.25e-4 by 1.2e-11 (``n`` 2048 vs 4096: 1.6e-7 at ``t = 0.005``).

``allen_cahn`` computes the reference on ``solver_resolution`` points and
returns every ``solver_resolution / n_x``-th, cached as ``.npz``.

Example:
  >>> u = solve_allen_cahn(np.cos(np.pi * np.linspace(-1, 1, 64, endpoint=False)),
  ...                      times=[0.1], diffusion=0.01, dt=1e-2)
  >>> u.shape
  (1, 64)
"""

from __future__ import annotations

import numpy as np

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.etdrk4 import check_times, diagonal_coefficients, march


def _check_grid(n, name: str) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4 or n % 2:
    raise ValueError(f"{name} must be an even int >= 4; got {n!r}")
  return int(n)


def x2cos_coefficients(n: int) -> np.ndarray:
  """``rfft`` coefficients (numpy's scaling) of ``x^2 cos(pi x)`` on ``x_j = -1 + 2 j / n``.

  Exact Fourier coefficients ``c_k = (I(k+1) + I(k-1)) / 4`` with
  ``I(m) = int_{-1}^{1} x^2 cos(pi m x) dx = 4 (-1)^m / (pi m)^2`` (``2/3`` at
  ``m = 0``), shifted to the grid's origin ``x_0 = -1``; the series is cut at
  ``|k| < n/2`` (the Nyquist mode is zero), not aliased.
  """
  n = _check_grid(n, "n")
  k = np.arange(n // 2 + 1)

  def integral(m):
    m = np.abs(m).astype(np.float64)
    safe = np.where(m == 0, 1.0, m)
    return np.where(m == 0, 2.0 / 3.0, 4.0 * (-1.0) ** m / (np.pi * safe) ** 2)

  c = (integral(k + 1) + integral(k - 1)) / 4
  c[-1] = 0.0
  return (n * c * (-1.0) ** k).astype(np.complex128)


def _cube(n: int):
  """Dealiased ``u^3`` in rfft space: zero-pad to ``2n`` points, cube, truncate."""
  def cube(v):
    pad = np.zeros(v.shape[:-1] + (n + 1,), np.complex128)
    pad[..., :n // 2] = 2 * v[..., :n // 2]
    u = np.fft.irfft(pad, n=2 * n)
    w = np.fft.rfft(u ** 3)[..., :n // 2 + 1] / 2
    w[..., -1] = 0.0
    return w
  return cube


def solve_allen_cahn(u0, *, times, diffusion: float = 1e-4, dt: float = 1e-4,
                     rates=(5.0, 5.0), spectral: bool = False) -> np.ndarray:
  """``u`` at ``times`` on ``x_j = -1 + 2 j / n``: an array ``(len(times), n)``.

  Args:
    u0: grid values on ``x_j = -1 + 2 j / n`` (``n`` even), or with
      ``spectral=True`` their ``rfft`` (``n // 2 + 1`` coefficients, e.g.
      ``x2cos_coefficients(n)``).
    times: increasing output times >= 0 (``t = 0`` is the start).
    diffusion: ``D`` > 0 (0 allowed: the pure reaction ODE per point).
    dt: largest time step; each output interval is cut into equal steps.
    rates: ``(a, b)`` of the reaction ``a u - b u^3``.
  """
  v0 = np.asarray(u0, dtype=np.complex128 if spectral else np.float64)
  if v0.ndim != 1:
    raise ValueError(f"u0 must be one 1-D array; got shape {v0.shape}")
  n = _check_grid(2 * (v0.size - 1) if spectral else v0.size, "the grid size of u0")
  if not spectral:
    v0 = np.fft.rfft(v0)
    v0[-1] = 0.0                   # the Nyquist mode has no derivative; drop it
  if not (isinstance(diffusion, (int, float)) and diffusion >= 0):
    raise ValueError(f"diffusion must be a number >= 0; got {diffusion!r}")
  a, b = (float(r) for r in rates)
  times = check_times(times, dt)
  lin = a - diffusion * (np.pi * np.arange(n // 2 + 1)) ** 2   # period 2: wavenumber pi k
  cube = _cube(n)
  states = march(v0, times, dt, lambda h: diagonal_coefficients(lin, h),
                 lambda v, t: -b * cube(v))
  return np.fft.irfft(np.stack(states), n=n)


def homogeneous_solution(c: float, t, a: float = 5.0, b: float = 5.0) -> np.ndarray:
  """The exact solution of ``u' = a u - b u^3``, ``u(0) = c``: ``u^2 = a / (b + (a/c^2 - b) e^(-2at))``."""
  t = np.asarray(t, np.float64)
  if c == 0:
    return np.zeros_like(t)
  return np.sign(c) * np.sqrt(a / (b + (a / c**2 - b) * np.exp(-2 * a * t)))


def allen_cahn(n_x: int = 512, n_t: int = 201, *, diffusion: float = 1e-4,
               t_final: float = 1.0, solver_resolution: int = 4096, dt: float = 2.5e-4,
               cache_dir=DEFAULT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """``(t, x, u)``: the reference for ``u0 = x^2 cos(pi x)``, float64.

  ``t`` is ``linspace(0, t_final, n_t)``, ``x_j = -1 + 2 j / n_x`` (``x = 1`` is
  ``x = -1``), ``u`` has shape ``(n_t, n_x)``. The defaults resolve the
  solution to about 1e-11 (module docstring); the first run takes about ten
  seconds, later ones read the cache.
  """
  n_x = _check_grid(n_x, "n_x")
  solver_resolution = _check_grid(solver_resolution, "solver_resolution")
  if isinstance(n_t, bool) or not isinstance(n_t, (int, np.integer)) or n_t < 2:
    raise ValueError(f"n_t must be an int >= 2; got {n_t!r}")
  if solver_resolution % n_x:
    raise ValueError(f"n_x must divide solver_resolution={solver_resolution}; got {n_x}")
  t = np.linspace(0.0, t_final, n_t)

  def make():
    u = solve_allen_cahn(x2cos_coefficients(solver_resolution), times=t[1:],
                         diffusion=diffusion, dt=dt, spectral=True)
    return {"u": u}

  params = {"D": diffusion, "T": t_final, "nt": n_t, "s": solver_resolution, "dt": dt}
  u = cached("allen_cahn", params, make, cache_dir)["u"][:, ::solver_resolution // n_x]
  x = -1.0 + 2.0 * np.arange(n_x) / n_x
  return t, x, np.concatenate([(x**2 * np.cos(np.pi * x))[None], u], axis=0)
