"""The ETDRK4 time stepper of Cox & Matthews (2002) for ``v' = L v + N(v, t)``.

``L`` is diagonal: Fourier modes, or the eigenbasis of a collocation
operator. The coefficients use the contour integrals of Kassam & Trefethen
(2005) (``burgers.etdrk4_coefficients``), accurate however stiff ``h L`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

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


def etdrk4_step(c: ETDCoefficients, v: np.ndarray, t: float, h: float,
                nonlinear: Callable) -> np.ndarray:
  """One step from ``t`` to ``t + h``; ``nonlinear(v, t)`` is ``N`` in the same basis as ``v``."""
  nv = nonlinear(v, t)
  a = c.e2 * v + c.q * nv
  na = nonlinear(a, t + h / 2)
  b = c.e2 * v + c.q * na
  nb = nonlinear(b, t + h / 2)
  cc = c.e2 * a + c.q * (2 * nb - nv)
  nc = nonlinear(cc, t + h)
  return c.e * v + c.f1 * nv + 2 * c.f2 * (na + nb) + c.f3 * nc


def check_times(times, dt: float) -> np.ndarray:
  times = np.asarray(times, dtype=np.float64)
  if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) <= 0):
    raise ValueError(f"times must be a non-empty increasing 1-D sequence of times >= 0;"
                     f" got {times!r}")
  if not (isinstance(dt, (int, float)) and dt > 0):
    raise ValueError(f"dt must be a positive number; got {dt!r}")
  return times


def march(v0: np.ndarray, times: np.ndarray, dt: float, coefficients: Callable,
          nonlinear: Callable) -> list[np.ndarray]:
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
        v = etdrk4_step(cache[key], v, t + i * h, h, nonlinear)
    t = target
    out.append(v)
  return out
