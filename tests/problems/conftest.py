"""Fixtures for problem tests: models with known outputs."""

import jax.numpy as jnp
import pytest
from flax import nnx


class Analytic(nnx.Module):
  """``u = fn(x)`` for a batch, times a trainable ``scale`` (so it can be trained)."""

  def __init__(self, fn, scale=1.0):
    self.fn = fn
    self.scale = nnx.Param(jnp.asarray(scale, jnp.float32))

  def __call__(self, x):
    out = self.fn(x) * self.scale[...]
    return out[:, None] if out.ndim == 1 else out


@pytest.fixture
def analytic():
  """The ``Analytic`` model class: ``analytic(lambda p: p[:, 0] ** 2)``."""
  return Analytic
