"""Exact periodicity in chosen coordinates (jaxpi's ``PeriodEmbs``)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import Fixed, float_dtype, positive_int


def _per_axis(value, n: int, name: str, kind) -> list:
  values = list(value) if isinstance(value, (list, tuple)) else [value] * n
  if len(values) != n or any(isinstance(v, bool) != (kind is bool) or not isinstance(v, kind)
                             for v in values):
    what = "bool" if kind is bool else "number"
    raise ValueError(f"{name} must be a {what} or one {what} per axis ({n}); got {value!r}")
  return values


class PeriodicEmbedding(nnx.Module):
  """Replaces each chosen coordinate ``x_i`` by ``cos(2 pi x_i / P_i), sin(2 pi x_i / P_i)``.

  Any function of the embedding is then exactly ``P_i``-periodic in ``x_i``.
  Other coordinates pass through unchanged, in order, so the output has
  ``in_features + len(axes)`` features. ``period`` is the true period (jaxpi's
  ``period`` argument is the angular frequency ``2 pi / P``: its ``jnp.pi``
  on ``[-1, 1]`` is ``period=2.0`` here).

  Args:
    in_features: size of ``x``.
    axes: indices of the periodic coordinates (e.g. ``(1,)`` for ``x`` in ``(t, x)``).
    period: one period for all axes, or one per axis (positive numbers).
    trainable: train the period(s) (a bool, or one per axis); the parameter is
      ``P`` itself (jaxpi trains its angular frequency).
    param_dtype: dtype of the periods; ``dtype``: computation dtype (None: promote).

  Example:
    >>> emb = PeriodicEmbedding(2, axes=(1,), period=2.0)
    >>> y = emb(jnp.array([[0.5, -1.0], [0.5, 1.0]]))    # (t, x): x = -1 and x = 1
    >>> y.shape, bool(jnp.allclose(y[0], y[1], atol=1e-6))
    ((2, 3), True)
  """

  def __init__(self, in_features: int, axes: Sequence[int], period=1.0, *,
               trainable=False, param_dtype=jnp.float32, dtype=None):
    self.in_features = positive_int(in_features, "in_features")
    axes = [axes] if isinstance(axes, int) else list(axes)
    if not axes or len(set(axes)) != len(axes) or any(
        isinstance(a, bool) or not isinstance(a, int) or not 0 <= a < in_features for a in axes):
      raise ValueError(f"axes must be distinct coordinate indices in [0, {in_features});"
                       f" got {axes!r}")
    periods = _per_axis(period, len(axes), "period", (int, float))
    if any(not p > 0 for p in periods):
      raise ValueError(f"period must be positive; got {period!r}")
    trainable = _per_axis(trainable, len(axes), "trainable", bool)
    param_dtype = float_dtype(param_dtype, "param_dtype")
    self.dtype = float_dtype(dtype, "dtype", allow_none=True)
    self.axes = tuple(axes)
    self.out_features = in_features + len(axes)
    self.periods = nnx.List([
        (nnx.Param if t else Fixed)(jnp.asarray(p, param_dtype)) for p, t in zip(periods, trainable)])

  def __call__(self, x: jax.Array) -> jax.Array:
    if x.shape[-1:] != (self.in_features,):
      raise ValueError(f"PeriodicEmbedding input must end in {self.in_features} features;"
                       f" got shape {x.shape}")
    dtype = self.dtype or jnp.result_type(x, *(p[...] for p in self.periods))
    x = x.astype(dtype)
    out = []
    for i in range(self.in_features):
      xi = x[..., i:i + 1]
      if i in self.axes:
        w = 2 * jnp.pi / self.periods[self.axes.index(i)][...].astype(dtype)
        out += [jnp.cos(w * xi), jnp.sin(w * xi)]
      else:
        out.append(xi)
    return jnp.concatenate(out, axis=-1)
