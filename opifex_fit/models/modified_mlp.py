"""The modified MLP of Wang, Teng and Perdikaris (SIAM J. Sci. Comput. 2021)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import (
  activation_fn,
  float_dtype,
  int_sizes,
  positive_int,
)
from opifex_fit.models.dense import dense
from opifex_fit.models.embedding import build_embedding


def gate(h: jax.Array, u: jax.Array, v: jax.Array) -> jax.Array:
  """``h * u + (1 - h) * v``: mixes the two encoder outputs by a hidden layer."""
  return h * u + (1 - h) * v


class ModifiedMLP(nnx.Module):
  """Two encoders gate every hidden layer: ``h <- act(W h + b) * U + (1 - act(W h + b)) * V``.

  With ``e`` the (optionally embedded) input, ``U = act(W_u e + b_u)`` and
  ``V = act(W_v e + b_v)``; the first hidden layer reads ``e``, each hidden
  layer is ``h = gate(act(W h + b), U, V)``, and the output layer is linear
  (as jaxpi's ``ModifiedMlp``).

  Args:
    in_features: input size.
    features: ``[hidden, ..., hidden, out]``; all hidden sizes must be equal
      (they are gated by ``U`` and ``V``), at least one hidden layer.
    activation: a name in ``models.mlp.ACTIVATIONS`` or a callable.
    weight_factorization: ``None`` or ``(mu, sigma)`` for every dense layer
      (see ``FactorizedDense``).
    embedding: ``None``, an embedding module or a list (see ``MLP``).
    param_dtype, dtype: as in ``MLP``.

  Example:
    >>> net = ModifiedMLP(2, [64, 64, 64, 1], rngs=nnx.Rngs(0))
    >>> net(jnp.ones((5, 2))).shape
    (5, 1)
  """

  def __init__(self, in_features: int, features: Sequence[int], activation="tanh", *,
               weight_factorization=None, embedding=None, param_dtype=jnp.float32,
               dtype=None, rngs: nnx.Rngs):
    positive_int(in_features, "in_features")
    features = int_sizes(features, "features")
    if len(features) < 2 or len(set(features[:-1])) != 1:
      raise ValueError(f"features must be [hidden, ..., hidden, out] with equal hidden sizes"
                       f" and at least one hidden layer; got {features!r}")
    self.activation = activation_fn(activation)
    kw = {"weight_factorization": weight_factorization,
          "param_dtype": float_dtype(param_dtype, "param_dtype"),
          "dtype": float_dtype(dtype, "dtype", allow_none=True), "rngs": rngs}
    self.embedding, width = build_embedding(embedding, in_features)
    hidden = features[0]
    self.encoder_u = dense(width, hidden, **kw)
    self.encoder_v = dense(width, hidden, **kw)
    sizes = [width, *features[:-1]]
    self.hidden = nnx.List([dense(a, b, **kw) for a, b in itertools.pairwise(sizes)])
    self.output = dense(hidden, features[-1], **kw)

  def __call__(self, x: jax.Array) -> jax.Array:
    if self.embedding is not None:
      x = self.embedding(x)
    u = self.activation(self.encoder_u(x))
    v = self.activation(self.encoder_v(x))
    for layer in self.hidden:
      x = gate(self.activation(layer(x)), u, v)
    return self.output(x)
