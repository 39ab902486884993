"""Approximate distance functions (ADFs) and R-functions, traceable.

After N. Sukumar and A. Srivastava (2022), "Exact imposition of boundary
conditions with distance functions in physics-informed deep neural networks",
CMAME 389, 114333:
- the R0 R-functions (R-conjunction and R-disjunction): ``union(a, b) = a + b + sqrt(a^2 + b^2)``,
  ``intersection(a, b) = a + b - sqrt(a^2 + b^2)``, and the difference
  ``a - b`` as the intersection with ``-b``; each is zero exactly on the
  boundary of the combined set and normalized to first order away from corners;
- the trimmed piece ``phi = sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)``, zero
  where ``f = 0`` and the trimming function ``t >= 0`` (their line-segment ADF,
  with ``t`` the disk trim ``((L/2)^2 - |x - x_c|^2) / L``);
- the R-equivalence ``phi = (sum_i phi_i^-m)^(-1/m)`` joining pieces, zero on
  each piece and equal to ``phi_i`` to first order near piece ``i``.

Functions here take level values (positive inside) and return them; domains
build their ``distance`` from them. At a point exactly on a kink (a corner,
or exactly on a trimmed piece) the square roots are guarded so gradients are
finite (they are 0 there, not 1).

Example:
  >>> import jax.numpy as jnp
  >>> from opifex_fit.geometry import distance
  >>> float(distance.intersection(jnp.array(0.0), jnp.array(2.0)))  # on the first boundary
  0.0
  >>> float(distance.equivalence([jnp.array(1.0), jnp.array(1.0)], m=1))
  0.5
"""

from __future__ import annotations

import jax.numpy as jnp


def safe_sqrt(v):
  """``sqrt(v)`` with a finite gradient (0) at ``v = 0``."""
  pos = v > 0
  return jnp.where(pos, jnp.sqrt(jnp.where(pos, v, 1.0)), 0.0)


def union(a, b):
  """R0 disjunction: positive where ``a > 0`` or ``b > 0``."""
  return a + b + safe_sqrt(a * a + b * b)


def intersection(a, b):
  """R0 conjunction: positive where ``a > 0`` and ``b > 0``."""
  return a + b - safe_sqrt(a * a + b * b)


def difference(a, b):
  return intersection(a, -b)


def intersect_all(levels):
  out = levels[0]
  for lv in levels[1:]:
    out = intersection(out, lv)
  return out


def trimmed(f, t):
  """Unsigned ADF of the piece ``{f = 0, t >= 0}`` (``f`` normalized)."""
  q = (safe_sqrt(t * t + f ** 4) - t) / 2
  return safe_sqrt(f * f + q * q)


def segment(x, a, b):
  """Unsigned ADF of the 2-D segment from ``a`` to ``b`` at points ``x (..., 2)``."""
  a, b = jnp.asarray(a, x.dtype), jnp.asarray(b, x.dtype)
  length = jnp.linalg.norm(b - a)
  d = x - a
  f = (d[..., 0] * (b - a)[1] - d[..., 1] * (b - a)[0]) / length
  center = (a + b) / 2
  t = ((length / 2) ** 2 - jnp.sum((x - center) ** 2, axis=-1)) / length
  return trimmed(f, t)


def equivalence(pieces, m: int = 2):
  """R-equivalence of unsigned piece ADFs: zero on any piece."""
  pieces = [jnp.asarray(p) for p in pieces]
  if len(pieces) == 1:
    return pieces[0]
  stacked = jnp.stack(pieces)
  zero = jnp.any(stacked <= 0, axis=0)
  safe = jnp.where(stacked > 0, stacked, 1.0)
  total = jnp.sum(safe ** (-m), axis=0)
  return jnp.where(zero, 0.0, total ** (-1.0 / m))
