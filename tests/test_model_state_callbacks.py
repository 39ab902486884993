"""Callbacks that rebuild the model inside their own jitted functions work
with stateful NNX models (BatchNorm statistics mutate inside jax.grad)."""

import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


class BatchNormMLP(nnx.Module):
  def __init__(self, rngs):
    self.a, self.bn, self.b = nnx.Linear(2, 16, rngs=rngs), nnx.BatchNorm(16, rngs=rngs), \
        nnx.Linear(16, 1, rngs=rngs)

  def __call__(self, x):
    return self.b(np.tanh(1.0) * self.bn(self.a(x)))


def test_tensorboard_histograms_on_a_batchnorm_model(tmp_path):
  x = np.random.default_rng(0).uniform(-1, 1, (128, 2)).astype(np.float32)
  learner = of.Learner(BatchNormMLP(nnx.Rngs(0)), of.Supervised("mse"), optax.adam(1e-3))
  learner.fit((x, x[:, :1] * x[:, 1:]), steps=20, batch_size=32, verbose=0,
              callbacks=[cb.TensorBoard(str(tmp_path), every=10, histograms=True)])
  assert learner.step == 20
  assert any(p.name.startswith("events") for p in tmp_path.rglob("*"))
