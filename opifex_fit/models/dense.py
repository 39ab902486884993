"""Dense layers with optional random weight factorization (RWF).

Random weight factorization (Wang, Wang, Sankaran, Perdikaris 2022) writes
the kernel of a dense layer as ``W = diag(exp(s)) V`` in the ``W x``
convention, i.e. one trainable scale per output unit. In the ``x @ kernel``
layout of Flax the scales multiply the kernel's columns: ``kernel = g * v``
with ``g = exp(s)`` of shape ``(out,)``. Initialisation follows jaxpi's
``_weight_fact``: draw the plain kernel ``W0`` (Glorot normal), draw
``s ~ N(mu, sigma)`` per output unit, set ``g = exp(s)`` and ``v = W0 / g``.
So at initialisation the layer computes the same function as the plain
layer it was derived from (to rounding); only the training dynamics change.
As in jaxpi, ``g`` itself (not ``s``) is the trained parameter.

``dense(...)`` builds a plain ``nnx.Linear`` or a ``FactorizedDense`` from
the same parameter stream: the plain kernel uses the same keys either way
and ``s`` comes from a key folded out of the kernel's, so a factorized
network starts as exactly the function of the plain one with the same seed.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import float_dtype, positive_int

_SCALE_STREAM = 0x5CA1E  # fold_in constant: the scale key never collides with a kernel key


def check_weight_factorization(value) -> tuple[float, float] | None:
  """``None`` or ``(mu, sigma)`` with ``sigma >= 0``, as floats."""
  if value is None:
    return None
  ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(
      isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
  if not ok or value[1] < 0:
    raise ValueError(f"weight_factorization must be None or a pair (mu, sigma) of numbers"
                     f" with sigma >= 0 (jaxpi uses (1.0, 0.1)); got {value!r}")
  return float(value[0]), float(value[1])


class FactorizedDense(nnx.Module):
  """``y = x @ (g * v) + b`` with per-output scales ``g`` (random weight factorization).

  Args:
    in_features, out_features: sizes.
    mu, sigma: ``log g ~ N(mu, sigma)`` at initialisation.
    kernel_init: initializer of the plain kernel ``W0`` (None: Glorot normal).
    use_bias: a zero-initialised bias.
    param_dtype: dtype of ``g``, ``v`` and ``b``; ``dtype``: computation dtype
      (``None``: promote inputs and parameters).
    rngs: ``nnx.Rngs``; uses the same ``params`` keys as ``nnx.Linear``.

  Example:
    >>> layer = FactorizedDense(3, 4, mu=1.0, sigma=0.1, rngs=nnx.Rngs(0))
    >>> layer(jnp.ones((2, 3))).shape
    (2, 4)
  """

  def __init__(self, in_features: int, out_features: int, *, mu: float = 1.0,
               sigma: float = 0.1, kernel_init: Callable | None = None,
               use_bias: bool = True, param_dtype=jnp.float32, dtype=None, rngs: nnx.Rngs):
    self.in_features = positive_int(in_features, "in_features")
    self.out_features = positive_int(out_features, "out_features")
    check_weight_factorization((mu, sigma))
    param_dtype = float_dtype(param_dtype, "param_dtype")
    self.dtype = float_dtype(dtype, "dtype", allow_none=True)
    kernel_init = kernel_init or nnx.initializers.glorot_normal()
    kernel_key = rngs.params()
    w0 = kernel_init(kernel_key, (in_features, out_features), param_dtype)
    s = mu + sigma * jax.random.normal(jax.random.fold_in(kernel_key, _SCALE_STREAM),
                                       (out_features,), param_dtype)
    g = jnp.exp(s)
    self.g = nnx.Param(g)
    self.v = nnx.Param(w0 / g)
    self.bias = nnx.Param(jnp.zeros((out_features,), param_dtype)) if use_bias else None
    if use_bias:
      rngs.params()  # consume the bias key like nnx.Linear, so later layers see the same keys

  def kernel(self) -> jax.Array:
    """The effective kernel ``g * v`` of shape ``(in_features, out_features)``."""
    return self.g[...] * self.v[...]

  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.kernel()
    bias = self.bias[...] if self.bias is not None else None
    x, kernel, bias = nnx.nn.dtypes.promote_dtype((x, kernel, bias), dtype=self.dtype)
    y = x @ kernel
    return y + bias if bias is not None else y


def dense(in_features: int, out_features: int, *, weight_factorization=None,
          use_bias: bool = True, param_dtype=jnp.float32, dtype=None,
          rngs: nnx.Rngs) -> nnx.Module:
  """A Glorot-normal dense layer: ``nnx.Linear``, or ``FactorizedDense`` for ``(mu, sigma)``."""
  factors = check_weight_factorization(weight_factorization)
  init = nnx.initializers.glorot_normal()
  if factors is None:
    return nnx.Linear(in_features, out_features, kernel_init=init, use_bias=use_bias,
                      param_dtype=param_dtype, dtype=dtype, rngs=rngs)
  return FactorizedDense(in_features, out_features, mu=factors[0], sigma=factors[1],
                         kernel_init=init, use_bias=use_bias, param_dtype=param_dtype,
                         dtype=dtype, rngs=rngs)


def kernel_of(layer: nnx.Module) -> jax.Array:
  """The effective ``(in, out)`` kernel of an ``nnx.Linear`` or ``FactorizedDense``."""
  return layer.kernel() if isinstance(layer, FactorizedDense) else layer.kernel[...]


def set_kernel(layer: nnx.Module, kernel: jax.Array) -> None:
  """Sets the effective kernel, keeping a factorized layer's scales ``g``."""
  if isinstance(layer, FactorizedDense):
    layer.v[...] = (kernel / layer.g[...]).astype(layer.v[...].dtype)
  else:
    layer.kernel[...] = kernel.astype(layer.kernel[...].dtype)
