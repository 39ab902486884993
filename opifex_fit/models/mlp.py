"""MLP: the fully connected network of most PINNs and regressors."""

from __future__ import annotations

from typing import Callable, Sequence

import jax
from flax import nnx

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jax.nn.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "silu": jax.nn.silu,
    "swish": jax.nn.silu, "sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus,
    "elu": jax.nn.elu, "sin": jax.numpy.sin,
}


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

  Args:
    in_features: input size.
    features: sizes of the layers, last one being the output.
    activation: a name in ``ACTIVATIONS`` or a callable.
  """

  def __init__(self, in_features: int, features: Sequence[int], activation="tanh", *,
               rngs: nnx.Rngs):
    if isinstance(in_features, bool) or not isinstance(in_features, int) or in_features <= 0:
      raise ValueError(f"in_features must be a positive int; got {in_features!r}")
    features = list(features) if not isinstance(features, (str, bytes)) else None
    if not features or any(isinstance(f, bool) or not isinstance(f, int) or f <= 0 for f in features):
      raise ValueError(f"features must be a non-empty list of positive ints; got {features!r}")
    if isinstance(activation, str):
      if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a callable;"
                         f" got {activation!r}")
      activation = ACTIVATIONS[activation]
    elif not callable(activation):
      raise TypeError(f"activation must be a name or a callable; got {activation!r}")
    self.activation = activation
    sizes = [in_features, *features]
    self.layers = nnx.List([
        nnx.Linear(a, b, kernel_init=nnx.initializers.glorot_normal(), rngs=rngs)
        for a, b in zip(sizes[:-1], sizes[1:])])

  def __call__(self, x):
    for layer in self.layers[:-1]:
      x = self.activation(layer(x))
    return self.layers[-1](x)
