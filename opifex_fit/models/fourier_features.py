"""Gaussian random Fourier features (Tancik et al. 2020; jaxpi's ``FourierEmbs``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit import validators
from opifex_fit.models._common import Fixed, float_dtype, positive_int


class FourierFeatures(nnx.Module):
  """``gamma(x) = [cos(x B), sin(x B)]`` with ``B ~ N(0, scale^2)`` of shape ``(in, features/2)``.

  As in jaxpi there is no ``2 pi`` factor: the frequencies are ``B`` itself,
  so ``scale`` is their standard deviation in radians per unit of ``x``
  (jaxpi uses ``scale=1`` to ``2`` on the unit square).

  Args:
    in_features: size of ``x``.
    features: size of the embedding (even): ``features / 2`` frequencies.
    scale: standard deviation of the entries of ``B``.
    trainable: train ``B`` (jaxpi does: it is a parameter there); with False
      it is stored as a non-trainable ``Fixed`` variable, saved with the model.
    param_dtype: dtype of ``B``; ``dtype``: computation dtype (None: promote).
    rngs: ``nnx.Rngs`` (draws ``B`` from ``rngs.params()``).

  Example:
    >>> ff = FourierFeatures(2, 64, scale=2.0, rngs=nnx.Rngs(0))
    >>> ff(jnp.ones((5, 2))).shape
    (5, 64)
    >>> float(ff(jnp.zeros((1, 2)))[0, :32].sum())       # cos(0) = 1 for every frequency
    32.0
  """

  def __init__(self, in_features: int, features: int, scale: float = 1.0, *,
               trainable: bool = True, param_dtype=jnp.float32, dtype=None, rngs: nnx.Rngs):
    self.in_features = positive_int(in_features, "in_features")
    features = positive_int(features, "features")
    if features % 2:
      raise ValueError(f"features must be even (cos and sin of features/2 frequencies);"
                       f" got {features}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
      raise ValueError(f"scale must be a positive number; got {scale!r}")
    validators.check_bool(trainable, "trainable")
    self.out_features = features
    self.dtype = float_dtype(dtype, "dtype", allow_none=True)
    param_dtype = float_dtype(param_dtype, "param_dtype")
    b = scale * jax.random.normal(rngs.params(), (in_features, features // 2), param_dtype)
    self.kernel = nnx.Param(b) if trainable else Fixed(b)

  def __call__(self, x: jax.Array) -> jax.Array:
    if x.shape[-1:] != (self.in_features,):
      raise ValueError(f"FourierFeatures input must end in {self.in_features} features;"
                       f" got shape {x.shape}")
    x, kernel = nnx.nn.dtypes.promote_dtype((x, self.kernel[...]), dtype=self.dtype)
    z = x @ kernel
    return jnp.concatenate([jnp.cos(z), jnp.sin(z)], axis=-1)
