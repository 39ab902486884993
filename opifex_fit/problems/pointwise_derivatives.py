"""Per-point derivative helpers of ``Derivatives.evaluate`` (one point ``x
(dim,)``, the problem vmaps): folx's forward Laplacian, second derivatives
by Taylor mode along coordinates, first derivatives and mixed second ones by
``jvp``.

Example:
  >>> import jax.numpy as jnp
  >>> f = lambda p: p[0] ** 2 * p[1] ** 3
  >>> u, d1, d2 = taylor2(f, jnp.array([1.0, 2.0]), [0, 1])   # along x, then y
  >>> [round(float(v), 4) for v in d1], [round(float(v), 4) for v in d2]  # 2xy^3, 3x^2y^2; 2y^3, 6x^2y
  ([16.0, 12.0], [16.0, 12.0])
"""

from __future__ import annotations

import folx
import jax
import jax.numpy as jnp
from jax.experimental.jet import jet

from opifex_fit.problems.high_order import jet_ok


def basis(x, idx):
  """The one-hot directions of the coordinates ``idx`` (leading axis)."""
  return jnp.eye(x.shape[0], dtype=x.dtype)[jnp.array(idx)]


def forward_laplacian(f, x, sp_idx):
  """u, gradient over spatial coords (leading axis) and spatial Laplacian (folx)."""
  if len(sp_idx) == x.shape[0]:  # no time coordinate: differentiate f itself
    g, xs = f, x
  else:
    sp = jnp.array(sp_idx)
    g, xs = (lambda y: f(x.at[sp].set(y))), x[sp]
  r = folx.forward_laplacian(g, disable_jit=True)(xs)
  jac = r.dense_jacobian.reshape((len(sp_idx),) + r.x.shape)
  return r.x, jac, r.laplacian


def taylor2(f, x, idx):
  """u and first/second derivatives along each coordinate in ``idx`` (leading axis)."""
  zeros = jnp.zeros_like(x)
  def along(v):
    if jet_ok(f, x, 2):
      u, (d1, d2) = jet(f, (x,), ((v, zeros),))
      return u, d1, d2
    first = lambda y: jax.jvp(f, (y,), (v,))
    (u, d1), (_, d2) = jax.jvp(first, (x,), (v,))
    return u, d1, d2
  u, d1, d2 = jax.vmap(along)(basis(x, idx))
  return u[0], d1, d2


def jvps(f, x, idx):
  """u and the first derivatives along the coordinates ``idx`` (leading axis)."""
  u, d1 = jax.vmap(lambda v: jax.jvp(f, (x,), (v,)))(basis(x, idx))
  return u[0], d1


def mixed_second(f, x, i, j):
  """d^2 f / dx_i dx_j by forward-over-forward ``jvp``."""
  ei, ej = basis(x, [i])[0], basis(x, [j])[0]
  return jax.jvp(lambda y: jax.jvp(f, (y,), (ei,))[1], (x,), (ej,))[1]
