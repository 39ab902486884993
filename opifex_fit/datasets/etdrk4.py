"""The ETDRK4 time stepper of Cox & Matthews (2002) for ``v' = L v + N(v, t)``.

``L`` is either diagonal (a vector: Fourier spectral methods) or a dense
matrix (Chebyshev collocation). Diagonal coefficients use the contour
integrals of Kassam & Trefethen (2005) (``burgers.etdrk4_coefficients``);
matrix coefficients use the ``phi``-functions read off one exponential of an
augmented block matrix (Sidje 1998; Al-Mohy & Higham 2011), which stays
accurate however stiff ``h L`` is:

  expm([[A, I, 0, 0], [0, 0, I, 0], [0, 0, 0, I], [0, 0, 0, 0]]) has
  ``exp(A), phi_1(A), phi_2(A), phi_3(A)`` in its first block row.

In terms of ``phi``: ``Q = h/2 phi_1(hL/2)``, ``f1 = h (phi_1 - 3 phi_2 + 4 phi_3)``,
``f2 = h (phi_2 - 2 phi_3)``, ``f3 = h (4 phi_3 - phi_2)`` at ``hL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.linalg

from opifex_fit.datasets.burgers import etdrk4_coefficients


class ETDCoefficients(NamedTuple):
  """``exp(hL)``, ``exp(hL/2)`` and the weights ``Q, f1, f2, f3`` of one step of size ``h``."""
  e: np.ndarray
  e2: np.ndarray
  q: np.ndarray
  f1: np.ndarray
  f2: np.ndarray
  f3: np.ndarray


def diagonal_coefficients(lin: np.ndarray, h: float) -> ETDCoefficients:
  return ETDCoefficients(*etdrk4_coefficients(np.asarray(lin, np.float64), h))


def phi_functions(a: np.ndarray) -> tuple[np.ndarray, ...]:
  """``exp(A), phi_1(A), phi_2(A), phi_3(A)`` of a square matrix, from one ``expm``."""
  n = a.shape[0]
  big = np.zeros((4 * n, 4 * n))
  big[:n, :n] = a
  for i in range(3):
    big[i * n:(i + 1) * n, (i + 1) * n:(i + 2) * n] = np.eye(n)
  ex = scipy.linalg.expm(big)
  return tuple(ex[:n, i * n:(i + 1) * n] for i in range(4))


def matrix_coefficients(lin: np.ndarray, h: float) -> ETDCoefficients:
  e, p1, p2, p3 = phi_functions(h * lin)
  e2, p1_half, _, _ = phi_functions(h * lin / 2)
  return ETDCoefficients(e, e2, h / 2 * p1_half, h * (p1 - 3 * p2 + 4 * p3),
                         h * (p2 - 2 * p3), h * (4 * p3 - p2))


def etdrk4_step(c: ETDCoefficients, v: np.ndarray, t: float, h: float,
                nonlinear: Callable, apply: Callable) -> np.ndarray:
  """One step from ``t`` to ``t + h``; ``apply(M, x)`` multiplies a coefficient and a state."""
  nv = nonlinear(v, t)
  a = apply(c.e2, v) + apply(c.q, nv)
  na = nonlinear(a, t + h / 2)
  b = apply(c.e2, v) + apply(c.q, na)
  nb = nonlinear(b, t + h / 2)
  cc = apply(c.e2, a) + apply(c.q, 2 * nb - nv)
  nc = nonlinear(cc, t + h)
  return apply(c.e, v) + apply(c.f1, nv) + 2 * apply(c.f2, na + nb) + apply(c.f3, nc)


def check_times(times, dt: float) -> np.ndarray:
  times = np.asarray(times, dtype=np.float64)
  if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) <= 0):
    raise ValueError(f"times must be a non-empty increasing 1-D sequence of times >= 0;"
                     f" got {times!r}")
  if not (isinstance(dt, (int, float)) and dt > 0):
    raise ValueError(f"dt must be a positive number; got {dt!r}")
  return times


def march(v0: np.ndarray, times: np.ndarray, dt: float, coefficients: Callable,
          nonlinear: Callable, apply: Callable) -> list[np.ndarray]:
  """States at ``times`` from ``v0`` at ``t = 0``.

  Each interval between output times is cut into the fewest equal steps of at
  most ``dt``, so every output time is hit exactly; coefficients are computed
  once per distinct step size (once for equally spaced outputs).
  """
  cache: dict[float, ETDCoefficients] = {}
  out, v, t = [], v0, 0.0
  for target in times:
    span = target - t
    m = int(np.ceil(span / dt - 1e-9)) if span > 0 else 0
    if m:
      h = span / m
      key = round(h, 15)
      if key not in cache:
        cache[key] = coefficients(h)
      for i in range(m):
        v = etdrk4_step(cache[key], v, t + i * h, h, nonlinear, apply)
    t = target
    out.append(v)
  return out
