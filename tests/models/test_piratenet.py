import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opifex_fit.models import (
  FactorizedDense,
  FourierFeatures,
  PeriodicEmbedding,
  PirateNet,
)
from opifex_fit.models.dense import kernel_of


def _net(**kw):
  emb = [PeriodicEmbedding(2, axes=(1,), period=2.0), FourierFeatures(3, 16, rngs=nnx.Rngs(1))]
  return PirateNet(2, 12, 2, n_blocks=2, embedding=emb, rngs=nnx.Rngs(0), **kw)


def test_at_init_the_network_is_the_linear_readout_of_the_embedding():
  net = _net()
  x = jax.random.uniform(jax.random.key(0), (9, 2), minval=-1, maxval=1)
  assert all(float(b.alpha[0]) == 0.0 for b in net.blocks)
  np.testing.assert_array_equal(net(x), net.readout(net.embedding(x)))
  net.blocks[0].alpha[...] = jnp.array([0.5])
  assert np.abs(net(x) - net.readout(net.embedding(x))).max() > 1e-4


def test_block_matches_a_hand_written_forward_pass():
  net = PirateNet(3, 4, 1, n_blocks=1, alpha_init=0.3, rngs=nnx.Rngs(0))
  block = net.blocks[0]
  x = np.asarray(jax.random.normal(jax.random.key(2), (5, 3)))

  def lin(layer, h):
    return h @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...])

  u, v = np.tanh(lin(net.encoder_u, x)), np.tanh(lin(net.encoder_v, x))
  f = np.tanh(lin(block.dense1, x))
  f = f * u + (1 - f) * v
  f = np.tanh(lin(block.dense2, f))
  f = f * u + (1 - f) * v
  f = np.tanh(lin(block.dense3, f))
  h = 0.3 * f + 0.7 * x
  np.testing.assert_allclose(net(jnp.asarray(x)), lin(net.readout, h), rtol=1e-5, atol=1e-6)


def test_least_squares_init_fits_solvable_data_exactly():
  net = _net()
  x = jax.random.uniform(jax.random.key(3), (12, 2), minval=-1, maxval=1)  # 12 < 16 + 1 unknowns
  u = jnp.stack([x[:, 1] ** 2 * jnp.cos(jnp.pi * x[:, 1]), jnp.sin(3 * x[:, 0])], axis=1)
  rms = net.init_last_layer(x, u)
  assert float(rms) < 1e-4
  np.testing.assert_allclose(net(x), u, atol=2e-4)


def test_least_squares_init_is_the_least_squares_solution_when_overdetermined():
  net = PirateNet(1, 8, 1, n_blocks=1, weight_factorization=(1.0, 0.1),
                  embedding=FourierFeatures(1, 6, rngs=nnx.Rngs(4)), rngs=nnx.Rngs(0))
  assert isinstance(net.readout, FactorizedDense)
  g = np.asarray(net.readout.g[...])
  x = jnp.linspace(-1, 1, 40)[:, None]
  u = jnp.exp(x[:, 0])
  rms = net.init_last_layer(x, u)
  h = np.asarray(net.last_hidden(x), np.float64)
  a = np.concatenate([h, np.ones((40, 1))], axis=1)
  coeffs = np.linalg.lstsq(a, np.asarray(u, np.float64), rcond=None)[0]
  best = np.sqrt(np.mean((a @ coeffs - np.asarray(u)) ** 2))
  assert float(rms) <= best + 2e-4                                 # float32 solve
  np.testing.assert_array_equal(net.readout.g[...], g)            # scales kept
  np.testing.assert_allclose(net(x)[:, 0], jnp.asarray(a @ coeffs), atol=5e-4)
  assert kernel_of(net.readout).shape == (6, 1)


def test_bad_arguments():
  net = _net()
  with pytest.raises(ValueError, match="init_last_layer"):
    net.init_last_layer(jnp.ones((4, 2)), jnp.ones((4,)))   # 2 outputs expected
  with pytest.raises(ValueError, match="n_blocks"):
    PirateNet(2, 8, 1, n_blocks=0, rngs=nnx.Rngs(0))
  with pytest.raises(TypeError, match="alpha_init"):
    PirateNet(2, 8, 1, alpha_init="zero", rngs=nnx.Rngs(0))
