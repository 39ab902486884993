import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from opifex_fit.models import MLP


def test_shapes_and_activation():
  net = MLP(3, [5, 7, 2], activation="relu", rngs=nnx.Rngs(0))
  assert net(jnp.ones((4, 3))).shape == (4, 2)
  x = jnp.array([[0.3, -0.2, 0.1]])
  hand = x
  for i, layer in enumerate(net.layers):
    hand = hand @ layer.kernel[...] + layer.bias[...]
    if i < 2:
      hand = jax.nn.relu(hand)
  np.testing.assert_allclose(net(x), hand, rtol=1e-6)


def test_custom_activation_and_determinism():
  a = MLP(2, [4, 1], activation=jnp.sin, rngs=nnx.Rngs(1))
  b = MLP(2, [4, 1], activation=jnp.sin, rngs=nnx.Rngs(1))
  x = jnp.ones((2, 2))
  np.testing.assert_array_equal(a(x), b(x))
