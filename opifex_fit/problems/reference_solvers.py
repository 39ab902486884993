"""Reference solutions for the PINN examples, computed to near machine precision.

``burgers_sine`` is the viscous Burgers benchmark of Raissi et al. (2019) and
DeepXDE: ``u_t + u u_x = nu u_xx`` on ``x in [-1, 1]``, ``u(x, 0) = -sin(pi x)``,
``u(+-1, t) = 0``. The Cole-Hopf transform turns it into the heat equation
(Basdevant et al. 1986, "Spectral and finite difference solutions of the
Burgers equation"):

  u(x, t) = - int sin(pi (x - e)) f(x - e) G(e) de / int f(x - e) G(e) de,
  f(y) = exp(-cos(pi y) / (2 pi nu)),  G(e) = exp(-e^2 / (4 nu t)).

(Odd symmetry makes the whole-line solution vanish at x = +-1, so it is the
solution of the boundary value problem.) With ``e = sqrt(4 nu t) z`` both
integrals are smooth and decay like ``exp(-z^2)``; the trapezoidal rule on a
fine z grid then converges exponentially, evaluated in log space because
``f`` spans ``exp(+-1 / (2 pi nu))``.

Example:
  >>> import numpy as np
  >>> from opifex_fit.problems.reference_solvers import burgers_sine
  >>> float(burgers_sine(np.array([0.5]), 0.0)[0])
  -1.0
"""

from __future__ import annotations

import numpy as np


def burgers_sine(x, t: float, nu: float = 0.01 / np.pi, *, n_quad: int = 4801) -> np.ndarray:
  """The exact solution at points ``x`` (any shape) and one time ``t >= 0``."""
  x = np.asarray(x, dtype=np.float64)
  if not (np.isfinite(t) and t >= 0) or not nu > 0:
    raise ValueError(f"need t >= 0 and nu > 0; got t={t!r}, nu={nu!r}")
  if t == 0:
    return -np.sin(np.pi * x)
  # |z| up to where exp(-z^2) beats the largest ratio of f, 1 / (pi nu), with margin.
  z_max = np.sqrt(1.0 / (np.pi * nu) + 50.0)
  z = np.linspace(-z_max, z_max, n_quad)
  y = x.reshape(-1, 1) - np.sqrt(4 * nu * t) * z
  log_w = -np.cos(np.pi * y) / (2 * np.pi * nu) - z**2
  w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
  u = -(np.sin(np.pi * y) * w).sum(axis=1) / w.sum(axis=1)
  return u.reshape(x.shape)


def burgers_sine_grid(nx: int = 256, nt: int = 100, nu: float = 0.01 / np.pi):
  """``(x (nx,), t (nt,), u (nt, nx))``: DeepXDE's ``Burgers.npz`` grid for the defaults.

  x has ``nx`` points from -1 to 1, t has ``nt`` points from 0 in steps of
  ``1 / nt`` (0, 0.01, ..., 0.99 for 100, as the file: t = 1 is not in it).
  """
  x, t = np.linspace(-1, 1, nx), np.arange(nt) / nt
  return x, t, np.stack([burgers_sine(x, ti, nu) for ti in t])
