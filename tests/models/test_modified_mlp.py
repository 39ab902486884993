import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opifex_fit.models import FourierFeatures, ModifiedMLP


def _np(layer):
  return np.asarray(layer.kernel[...]), np.asarray(layer.bias[...])


def test_matches_a_hand_written_forward_pass():
  net = ModifiedMLP(2, [5, 5, 5, 3], rngs=nnx.Rngs(0))
  x = np.asarray(jax.random.normal(jax.random.key(1), (4, 2)))
  (wu, bu), (wv, bv) = _np(net.encoder_u), _np(net.encoder_v)
  u, v = np.tanh(x @ wu + bu), np.tanh(x @ wv + bv)
  h = x
  for layer in net.hidden:
    w, b = _np(layer)
    z = np.tanh(h @ w + b)
    h = z * u + (1 - z) * v
  w, b = _np(net.output)
  np.testing.assert_allclose(net(jnp.asarray(x)), h @ w + b, rtol=1e-5, atol=1e-6)
  assert len(net.hidden) == 3


def test_embedding_in_front_and_shapes():
  ff = FourierFeatures(3, 16, rngs=nnx.Rngs(2))
  net = ModifiedMLP(3, [8, 2], activation="sin", embedding=ff, rngs=nnx.Rngs(0))
  assert net.encoder_u.in_features == 16 and net.hidden[0].in_features == 16
  x = jnp.ones((7, 3))
  assert net(x).shape == (7, 2)
  emb = ff(x)
  u, v = jnp.sin(net.encoder_u(emb)), jnp.sin(net.encoder_v(emb))
  z = jnp.sin(net.hidden[0](emb))
  np.testing.assert_allclose(net(x), net.output(z * u + (1 - z) * v), rtol=1e-6)


@pytest.mark.parametrize("features", [[8], [8, 6, 1], "8"])
def test_bad_features(features):
  with pytest.raises(ValueError, match="features"):
    ModifiedMLP(2, features, rngs=nnx.Rngs(0))
