"""The new architectures train through the public API (forward-mode derivatives included)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit.models import (
  MLP,
  FourierFeatures,
  ModifiedMLP,
  PeriodicEmbedding,
  PirateNet,
)


def allen_cahn(x, u, d):
  return d["t"] - 1e-4 * d["xx"] + 5 * u**3 - 5 * u


def _embedding(trainable):
  return [PeriodicEmbedding(2, axes=(1,), period=2.0),
          FourierFeatures(3, 16, scale=1.0, trainable=trainable, rngs=nnx.Rngs(1))]


BUILDERS = {
    "mlp_rwf": lambda: MLP(2, [16, 16, 1], weight_factorization=(1.0, 0.1),
                           embedding=_embedding(True), rngs=nnx.Rngs(0)),
    "modified_mlp": lambda: ModifiedMLP(2, [16, 16, 1], embedding=_embedding(False),
                                        rngs=nnx.Rngs(0)),
    "piratenet": lambda: PirateNet(2, 16, 1, n_blocks=2, embedding=_embedding(False),
                                   weight_factorization=(1.0, 0.1), rngs=nnx.Rngs(0)),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_fits_a_periodic_allen_cahn_pinn(name):
  model = BUILDERS[name]()
  domain = of.Box({"t": (0.0, 1.0), "x": (-1.0, 1.0)})
  ic = of.InitialCondition(lambda p: p[1] ** 2 * jnp.cos(jnp.pi * p[1]))
  problem = of.PDEProblem(allen_cahn, domain, [ic])
  if isinstance(model, PirateNet):
    x0 = np.stack([np.zeros(64), np.linspace(-1, 1, 64)], axis=1).astype(np.float32)
    model.init_last_layer(x0, x0[:, 1] ** 2 * np.cos(np.pi * x0[:, 1]))
  fixed = [np.asarray(v) for v in jax.tree.leaves(nnx.state(model, nnx.Not(nnx.Param)))]
  learner = of.Learner(model, problem, optax.adam(1e-3))
  data = problem.sample(256, n_initial=64, seed=0)
  before = learner.evaluate(data)["loss"]
  history = learner.fit(data, steps=30, verbose=0)
  assert np.isfinite(history["loss"]).all() and learner.evaluate(data)["loss"] < before
  after = [np.asarray(v) for v in jax.tree.leaves(nnx.state(learner.model, nnx.Not(nnx.Param)))]
  for a, b in zip(fixed, after):      # non-trainable arrays (fixed B, periods) are untouched
    np.testing.assert_array_equal(a, b)
  # Exact periodicity survives training.
  pts = np.array([[0.3, -1.0], [0.3, 1.0]], np.float32)
  pred = np.asarray(learner.predict(pts))
  np.testing.assert_allclose(pred[0], pred[1], atol=1e-5)
