"""MLP: the fully connected network of most PINNs and regressors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import (
  ACTIVATIONS,
  activation_fn,
  float_dtype,
  int_sizes,
  positive_int,
)
from opifex_fit.models.dense import dense
from opifex_fit.models.embedding import build_embedding

__all__ = ["ACTIVATIONS", "MLP"]


class MLP(nnx.Module):
  """Dense layers with an activation between them (none after the last).

  The output size is ``features[-1]``. Weights use Glorot-normal init (the
  DeepXDE default for tanh PINNs), biases zero.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> net = MLP(2, [50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))
    >>> net(jnp.ones((7, 2))).shape
    (7, 1)
    >>> rwf = MLP(2, [50, 50, 1], weight_factorization=(1.0, 0.1), rngs=nnx.Rngs(0))
    >>> bool(jnp.allclose(rwf(jnp.ones((7, 2))), net(jnp.ones((7, 2))), atol=1e-5))
    True

  Args:
    in_features: input size.
    features: sizes of the layers, last one being the output.
    activation: a name in ``ACTIVATIONS`` or a callable.
    weight_factorization: ``None`` (plain ``nnx.Linear`` layers) or
      ``(mu, sigma)``: every layer is a ``FactorizedDense`` (random weight
      factorization, jaxpi's ``(1.0, 0.1)``). With the same ``rngs`` seed the
      factorized network starts as the same function as the plain one.
    embedding: ``None``, an embedding module (``FourierFeatures``,
      ``PeriodicEmbedding``) or a list of them applied in order; its
      ``in_features`` must equal ``in_features``. Create it with its own
      ``rngs`` (or the same ``nnx.Rngs``) before the MLP.
    param_dtype: dtype of the weights (``jnp.float64`` needs
      ``jax_enable_x64``); ``dtype``: computation dtype (None: promote inputs
      and weights, so float64 inputs on float32 weights compute in float64).
  """

  def __init__(self, in_features: int, features: Sequence[int], activation="tanh", *,
               weight_factorization=None, embedding=None, param_dtype=jnp.float32,
               dtype=None, rngs: nnx.Rngs):
    positive_int(in_features, "in_features")
    features = int_sizes(features, "features")
    self.activation = activation_fn(activation)
    param_dtype = float_dtype(param_dtype, "param_dtype")
    dtype = float_dtype(dtype, "dtype", allow_none=True)
    self.embedding, width = build_embedding(embedding, in_features)
    sizes = [width, *features]
    self.layers = nnx.List([
        dense(a, b, weight_factorization=weight_factorization, param_dtype=param_dtype,
              dtype=dtype, rngs=rngs)
        for a, b in itertools.pairwise(sizes)])

  def __call__(self, x):
    if self.embedding is not None:
      x = self.embedding(x)
    for layer in self.layers[:-1]:
      x = self.activation(layer(x))
    return self.layers[-1](x)
