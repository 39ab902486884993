"""Test helpers: tiny regression problems that train in well under a second.

Import as ``from support import make_learner, sine_data`` (``tests/`` is on
the path through pytest's ``pythonpath`` setting)."""

import numpy as np
import optax
from flax import nnx

import opifex_fit as of


def sine_data(n=128, seed=0):
  x = np.random.default_rng(seed).uniform(-1, 1, (n, 1)).astype(np.float32)
  return x, np.sin(3 * x)


def make_learner(seed=0, lr=3e-3, loss="mse", width=16):
  model = of.models.MLP(1, [width, width, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, of.Supervised(loss), optax.adam(lr), seed=seed)
