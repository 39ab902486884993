import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.problems.supervised import mae, mse, relative_l2


def test_losses_against_hand_computation():
  pred = jnp.array([[1.0, 2.0], [3.0, 4.0]])
  target = jnp.array([[1.0, 0.0], [0.0, 4.0]])
  assert float(mse(pred, target)) == (0 + 4 + 9 + 0) / 4
  assert float(mae(pred, target)) == (0 + 2 + 3 + 0) / 4
  # per sample: ||(0,2)||/||(1,0)|| = 2, ||(3,0)||/||(0,4)|| = 0.75; mean 1.375
  np.testing.assert_allclose(float(relative_l2(pred, target)), 1.375, rtol=1e-6)


def test_callable_loss_and_pytree_inputs():
  class TwoInputs(nnx.Module):
    def __init__(self):
      self.a = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
    def __call__(self, xs):
      u, y = xs
      return self.a(jnp.concatenate([u, y], axis=-1))

  rng = np.random.default_rng(0)
  u, y = rng.normal(size=(64, 1)), rng.normal(size=(64, 1))
  target = u * y
  huber = lambda p, t: jnp.mean(optax.huber_loss(p, t))
  learner = of.Learner(TwoInputs(), of.Supervised(huber), optax.adam(1e-2))
  before = learner.evaluate(((u, y), target))["loss"]
  learner.fit(((u, y), target), steps=200, verbose=0)
  assert learner.evaluate(((u, y), target))["loss"] < 0.5 * before
  assert learner.predict((u, y)).shape == (64, 1)
