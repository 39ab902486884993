"""Argument checks and small pieces shared by the model files."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jax.nn.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "silu": jax.nn.silu,
    "swish": jax.nn.silu, "sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus,
    "elu": jax.nn.elu, "sin": jax.numpy.sin,
}


class Fixed(nnx.Variable):
  """A non-trainable array of a model (the learner trains only ``nnx.Param``)."""


def activation_fn(value) -> Callable:
  if isinstance(value, str):
    if value not in ACTIVATIONS:
      raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a callable;"
                       f" got {value!r}")
    return ACTIVATIONS[value]
  if not callable(value):
    raise TypeError(f"activation must be a name or a callable; got {value!r}")
  return value


def positive_int(value, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive int; got {value!r}")
  return int(value)


def int_sizes(value, name: str) -> list[int]:
  sizes = list(value) if not isinstance(value, (str, bytes, int)) else None
  if not sizes or any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f <= 0
                      for f in sizes):
    raise ValueError(f"{name} must be a non-empty list of positive ints; got {value!r}")
  return [int(f) for f in sizes]


def float_dtype(value, name: str, *, allow_none: bool = False):
  """A floating dtype; float64 only when ``jax_enable_x64`` is on (JAX would downcast)."""
  if value is None and allow_none:
    return None
  try:
    dtype = jnp.dtype(value)
  except TypeError:
    dtype = None
  if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be a floating dtype such as jnp.float32 or jnp.float64;"
                    f" got {value!r}")
  if dtype.itemsize == 8 and not jax.config.jax_enable_x64:
    raise ValueError(f"{name}={dtype} needs 64-bit JAX: call"
                     f" jax.config.update('jax_enable_x64', True) before building the model")
  return dtype
