"""Allen-Cahn ``u_t = D u_xx + a u - b u^3`` on ``[-1, 1]`` with ``u(+-1, t) = -1``.

The problem of Wu et al. (CMAME 2023, RAD/RAR-D): ``D = 1e-3``, ``a = b = 5``,
``u(x, 0) = x^2 cos(pi x)`` (which is ``-1`` at ``x = +-1``), ``t`` in
``[0, 1]``; their network is ``x^2 cos(pi x) + t (1 - x^2) N(x, t)``.

Solver: Chebyshev collocation on ``x_j = cos(pi j / n)`` for ``w = u + 1``
(zero at both ends, so the boundary rows drop out and the linear operator is
``L = D`` times the interior block of the second-derivative matrix), ETDRK4
in time in the eigenbasis of ``L``, so the stiff diffusion is integrated
exactly. ``L`` has real negative eigenvalues and a well-conditioned
eigenvector matrix (condition number 4.7 at ``n = 1024`` with the even
folding, 3.3 at ``n = 256`` without), so the change of basis costs nothing
in accuracy; stepping with ``expm(h L)`` instead would err by about
``eps ||L||`` per unit time (1e-7 at ``n = 1024``: tried and measured).
Values elsewhere come from the barycentric interpolant.

Measured for the defaults (``n = 1024``, ``dt = 5e-4``) on the 201-point grid
at the 100 output times, max abs differences: ``n`` 1024 vs 1280: 9.0e-12,
768 vs 1280: 3.6e-12, 512 vs 1280: 2.9e-9 (the interfaces of width
``sqrt(2 D / 5) = 0.02`` need ``n`` near 700); ``dt`` 5e-4 vs 2.5e-4: 9.1e-12.

Example:
  >>> x, u = solve_allen_cahn_dirichlet(lambda x: x**2 * np.cos(np.pi * x), times=[0.1],
  ...                                   degree=32, diffusion=1e-2, dt=1e-2)
  >>> x.shape, u.shape
  ((33,), (1, 33))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.etdrk4 import check_times, diagonal_coefficients, march


def chebyshev_points(degree: int) -> np.ndarray:
  """``cos(pi j / degree)``, ``j = 0..degree`` (from ``x = 1`` down to ``x = -1``).

  Computed as ``sin(pi (degree - 2 j) / (2 degree))``, exactly symmetric.
  """
  if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 2:
    raise ValueError(f"degree must be an int >= 2; got {degree!r}")
  return np.sin(np.pi * (degree - 2 * np.arange(degree + 1)) / (2 * degree))


def chebyshev_matrices(degree: int) -> tuple[np.ndarray, np.ndarray]:
  """First- and second-derivative collocation matrices on ``chebyshev_points``.

  Weideman & Reddy's construction (2000): ``x_i - x_j`` from a product of
  sines (no cancellation near the ends, where the points cluster as ``1/n^2``),
  the recursion ``D_l = l Z (C diag(D_{l-1}) - D_{l-1})`` and diagonals from
  the negative-sum trick. The naive ``D1 @ D1`` of the difference formula
  errs by ``~1e-10`` relative near the ends at ``n = 1024``, which showed up
  as a 1e-7 drift of the Allen-Cahn solution.
  """
  j = np.arange(degree + 1)
  dx = 2 * np.sin(np.pi * (j[:, None] + j[None, :]) / (2 * degree)) \
      * np.sin(np.pi * (j[None, :] - j[:, None]) / (2 * degree))
  np.fill_diagonal(dx, 1.0)
  z = 1.0 / dx
  np.fill_diagonal(z, 0.0)
  c = np.ones(degree + 1)
  c[[0, -1]] = 2.0
  c *= (-1.0) ** j
  ratio = np.outer(c, 1.0 / c)
  out, d = [], np.eye(degree + 1)
  for ell in (1, 2):
    d = ell * z * (ratio * np.diag(d)[:, None] - d)
    np.fill_diagonal(d, 0.0)
    np.fill_diagonal(d, -d.sum(axis=1))
    out.append(d)
  return out[0], out[1]


def chebyshev_matrix(degree: int) -> np.ndarray:
  """The first-derivative collocation matrix on ``chebyshev_points``."""
  return chebyshev_matrices(degree)[0]


def chebyshev_interpolate(values: np.ndarray, x_new) -> np.ndarray:
  """Barycentric interpolation of values at ``chebyshev_points`` (last axis) to ``x_new``."""
  values = np.asarray(values, np.float64)
  x = chebyshev_points(values.shape[-1] - 1)
  w = (-1.0) ** np.arange(x.size)
  w[[0, -1]] *= 0.5
  x_new = np.asarray(x_new, np.float64)
  diff = x_new[:, None] - x[None, :]
  exact = diff == 0
  diff[exact] = 1.0
  kernel = w / diff
  out = (values @ kernel.T) / kernel.sum(axis=1)
  hit_rows, hit_cols = np.nonzero(exact)
  out[..., hit_rows] = values[..., hit_cols]
  return out


def _interior_operator(degree: int, even: bool) -> np.ndarray:
  """``d^2/dx^2`` on the interior values of a function that is zero at ``x = +-1``.

  With ``even``, only the values at ``x_1 .. x_{n/2}`` (``x >= 0``) are kept and
  the mirrored columns are folded onto them: half the unknowns for even data.
  """
  d2 = chebyshev_matrices(degree)[1][1:-1, 1:-1]   # rows/cols j = 1 .. n-1
  if not even:
    return d2
  half = degree // 2                           # x_half = 0
  folded = d2[:half, :half].copy()             # j = 1 .. half
  folded[:, :half - 1] += d2[:half, degree - 2:half - 1:-1]   # j' = n - j for j < half
  return folded


def _eigenbasis(lin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  lam, vec = np.linalg.eig(lin)
  if np.iscomplexobj(lam):
    if np.abs(lam.imag).max() > 1e-8 * np.abs(lam).max():
      raise ValueError("the collocation operator has complex eigenvalues; expected a real"
                       " spectrum (is diffusion > 0?)")
    lam, vec = lam.real, vec.real
  return lam, vec


def solve_allen_cahn_dirichlet(u0: Callable, *, times, degree: int = 1024,
                               diffusion: float = 1e-3, dt: float = 5e-4, rates=(5.0, 5.0),
                               boundary: float = -1.0, source: Callable | None = None,
                               even: bool = False):
  """``(x, u)``: ``u`` at ``times`` on ``x = chebyshev_points(degree)``, shape ``(len(times), degree + 1)``.

  Args:
    u0: the initial condition as a function of ``x`` (vectorised); it must
      equal ``boundary`` at ``x = +-1``.
    times: increasing output times >= 0.
    degree: polynomial degree ``n`` (``n + 1`` points).
    diffusion: ``D > 0``; ``rates``: ``(a, b)`` of the reaction ``a u - b u^3``.
    boundary: the Dirichlet value at both ends.
    source: optional forcing ``g(x, t)`` added to the right-hand side (for
      manufactured solutions).
    even: the data are even in ``x`` (checked on ``u0``), so is the solution:
      solve for ``x >= 0`` only (an even ``degree`` is required). Same answer,
      with matrices half as large.
  """
  x = chebyshev_points(degree)
  if not (isinstance(diffusion, (int, float)) and diffusion > 0):
    raise ValueError(f"diffusion must be a positive number; got {diffusion!r}")
  times = check_times(times, dt)
  u_start = np.asarray(u0(x), np.float64)
  if u_start.shape != x.shape or max(abs(u_start[0] - boundary), abs(u_start[-1] - boundary)) > 1e-10:
    raise ValueError(f"u0 must map the {x.size} points to values equal to boundary={boundary}"
                     f" at x = +-1; got u0(1)={u_start[0]!r}, u0(-1)={u_start[-1]!r}")
  if even and (degree % 2 or np.abs(u_start - u_start[::-1]).max() > 1e-12):
    raise ValueError(f"even=True needs an even degree and an even u0; got degree={degree},"
                     f" max |u0(x) - u0(-x)| = {np.abs(u_start - u_start[::-1]).max():.3g}")
  lam, vec = _eigenbasis(diffusion * _interior_operator(degree, even))
  vec_inv = np.linalg.inv(vec)
  a, b = (float(r) for r in rates)
  inner = x[1:1 + lam.size]

  def nonlinear(y, t):
    u = vec @ y + boundary
    out = a * u - b * u**3
    return vec_inv @ (out + source(inner, t) if source is not None else out)

  states = march(vec_inv @ (u_start[1:1 + inner.size] - boundary), times, dt,
                 lambda h: diagonal_coefficients(lam, h), nonlinear)
  u = np.full((times.size, x.size), boundary)
  u[:, 1:1 + inner.size] = np.stack(states) @ vec.T + boundary
  if even:
    u[:, degree // 2 + 1:-1] = u[:, degree // 2 - 1:0:-1]
  return x, u


def allen_cahn_dirichlet(n_x: int = 201, n_t: int = 101, *, diffusion: float = 1e-3,
                         t_final: float = 1.0, degree: int = 1024, dt: float = 5e-4,
                         cache_dir=DEFAULT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """``(t, x, u)``: the reference for Wu et al.'s problem on a uniform grid, float64.

  ``t = linspace(0, t_final, n_t)``, ``x = linspace(-1, 1, n_x)``, ``u`` of shape
  ``(n_t, n_x)``. The Chebyshev solution (cached as ``.npz``) is interpolated
  to the grid. The defaults resolve the solution to about 1e-11 (module
  docstring); the first run takes about ten seconds.
  """
  for value, name in ((n_x, "n_x"), (n_t, "n_t")):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
      raise ValueError(f"{name} must be an int >= 2; got {value!r}")
  t = np.linspace(0.0, t_final, n_t)

  def make():
    _, u = solve_allen_cahn_dirichlet(lambda x: x**2 * np.cos(np.pi * x), times=t,
                                      degree=degree, diffusion=diffusion, dt=dt, even=True)
    return {"u": u}

  params = {"D": diffusion, "T": t_final, "nt": n_t, "n": degree, "dt": dt}
  u_cheb = cached("allen_cahn_dirichlet", params, make, cache_dir)["u"]
  x = np.linspace(-1.0, 1.0, n_x)
  return t, x, chebyshev_interpolate(u_cheb, x)
