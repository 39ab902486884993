import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opifex_fit.models import MLP, FactorizedDense, ModifiedMLP, dense
from opifex_fit.models.dense import kernel_of, set_kernel


def test_factorized_layer_is_the_plain_layer_it_was_derived_from():
  plain = dense(3, 5, rngs=nnx.Rngs(7))
  fact = dense(3, 5, weight_factorization=(1.0, 0.1), rngs=nnx.Rngs(7))
  assert isinstance(plain, nnx.Linear) and isinstance(fact, FactorizedDense)
  np.testing.assert_allclose(fact.kernel(), plain.kernel[...], rtol=1e-6)
  x = jax.random.normal(jax.random.key(0), (4, 3))
  np.testing.assert_allclose(fact(x), plain(x), rtol=1e-5, atol=1e-6)
  # Scales are per output unit (the kernel's columns in the x @ kernel layout).
  assert fact.g.shape == (5,) and fact.v.shape == (3, 5)
  np.testing.assert_allclose(fact.g[...][None, :] * fact.v[...], fact.kernel(), rtol=0)


def test_scales_are_lognormal_with_mu_and_sigma():
  layer = FactorizedDense(2, 4000, mu=0.5, sigma=0.2, rngs=nnx.Rngs(0))
  s = np.log(np.asarray(layer.g[...]))
  assert abs(s.mean() - 0.5) < 0.02 and abs(s.std() - 0.2) < 0.02


def test_factorized_mlp_starts_as_the_plain_mlp_with_the_same_seed():
  x = jax.random.normal(jax.random.key(1), (6, 2))
  plain = MLP(2, [16, 16, 1], rngs=nnx.Rngs(3))
  fact = MLP(2, [16, 16, 1], weight_factorization=(1.0, 0.1), rngs=nnx.Rngs(3))
  assert all(isinstance(layer, FactorizedDense) for layer in fact.layers)
  np.testing.assert_allclose(fact(x), plain(x), rtol=1e-5, atol=1e-6)
  mm_plain = ModifiedMLP(2, [8, 8, 1], rngs=nnx.Rngs(3))
  mm_fact = ModifiedMLP(2, [8, 8, 1], weight_factorization=(0.0, 0.3), rngs=nnx.Rngs(3))
  np.testing.assert_allclose(mm_fact(x), mm_plain(x), rtol=1e-5, atol=1e-6)


def test_factorized_gradients_differ_from_plain_ones():
  # Same function, different parameterization: d/dv = g * d/dW per column.
  fact = FactorizedDense(2, 3, mu=1.0, sigma=0.1, use_bias=False, rngs=nnx.Rngs(0))
  x = jnp.array([[1.0, 2.0]])
  grads = nnx.grad(lambda m: m(x).sum())(fact)
  np.testing.assert_allclose(grads["v"][...], x.T * fact.g[...][None, :], rtol=1e-6)


def test_set_kernel_keeps_the_scales():
  layer = FactorizedDense(2, 3, rngs=nnx.Rngs(0))
  g = np.asarray(layer.g[...])
  target = jnp.arange(6.0).reshape(2, 3)
  set_kernel(layer, target)
  np.testing.assert_array_equal(layer.g[...], g)
  np.testing.assert_allclose(kernel_of(layer), target, rtol=1e-6)


@pytest.mark.parametrize("bad", [(1.0,), (1.0, -0.1), "jaxpi", (True, 0.1)])
def test_bad_weight_factorization(bad):
  with pytest.raises(ValueError, match="weight_factorization"):
    MLP(2, [4, 1], weight_factorization=bad, rngs=nnx.Rngs(0))
