import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opifex_fit.models import MLP, EmbeddingChain, FourierFeatures, PeriodicEmbedding


def test_fourier_features_hand_computed():
  ff = FourierFeatures(2, 4, scale=3.0, rngs=nnx.Rngs(0))
  assert ff.kernel.shape == (2, 2) and isinstance(ff.kernel, nnx.Param)
  ff.kernel[...] = jnp.array([[1.0, 0.0], [2.0, -1.0]])
  x = jnp.array([[0.3, 0.5]])
  z = np.array([0.3 + 1.0, -0.5])                      # x @ B
  np.testing.assert_allclose(ff(x)[0], np.concatenate([np.cos(z), np.sin(z)]), rtol=1e-6)


def test_fourier_features_scale_and_trainability():
  ff = FourierFeatures(3, 4000, scale=2.5, trainable=False, rngs=nnx.Rngs(1))
  assert abs(float(jnp.std(ff.kernel[...])) - 2.5) < 0.05
  assert not jax.tree.leaves(nnx.state(ff, nnx.Param))  # fixed B is not trained ...
  assert jax.tree.leaves(nnx.state(ff))                 # ... but is part of the state
  with pytest.raises(ValueError, match="features must be even"):
    FourierFeatures(2, 5, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="scale"):
    FourierFeatures(2, 4, scale=0.0, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="end in 2 features"):
    ff = FourierFeatures(2, 4, rngs=nnx.Rngs(0))
    ff(jnp.ones((3, 3)))


def test_periodic_embedding_hand_computed_and_passthrough():
  emb = PeriodicEmbedding(3, axes=(0, 2), period=(2.0, 0.5))
  x = jnp.array([[0.25, 7.0, 0.1]])
  w0, w2 = np.pi, 4 * np.pi
  expected = [np.cos(w0 * 0.25), np.sin(w0 * 0.25), 7.0, np.cos(w2 * 0.1), np.sin(w2 * 0.1)]
  assert emb.out_features == 5
  np.testing.assert_allclose(emb(x)[0], expected, rtol=1e-6)


def test_network_on_periodic_embedding_is_exactly_periodic():
  key = jax.random.key(0)
  emb = PeriodicEmbedding(2, axes=(1,), period=2.0)
  ff = FourierFeatures(3, 32, scale=2.0, rngs=nnx.Rngs(1))
  net = MLP(2, [32, 32, 1], embedding=[emb, ff], rngs=nnx.Rngs(0))
  tx = jax.random.uniform(key, (64, 2), minval=-1, maxval=1)
  for shift in (2.0, -4.0):
    shifted = tx.at[:, 1].add(shift)
    np.testing.assert_allclose(net(shifted), net(tx), atol=2e-5)
  not_periodic = tx.at[:, 0].add(2.0)                     # t is passed through
  assert np.abs(net(not_periodic) - net(tx)).max() > 1e-3


def test_trainable_period_gets_gradients():
  emb = PeriodicEmbedding(1, axes=0, period=1.5, trainable=True)
  assert len(jax.tree.leaves(nnx.state(emb, nnx.Param))) == 1
  grads = nnx.grad(lambda m: m(jnp.array([[0.4]]))[0, 1])(emb)   # d sin(2 pi x / P) / dP
  p, x = 1.5, 0.4
  expected = np.cos(2 * np.pi * x / p) * (-2 * np.pi * x / p**2)
  np.testing.assert_allclose(jax.tree.leaves(grads)[0], expected, rtol=1e-5)
  fixed = PeriodicEmbedding(2, axes=(1,), period=1.0)
  assert not jax.tree.leaves(nnx.state(fixed, nnx.Param))


@pytest.mark.parametrize("kw,match", [
    ({"axes": (2,)}, "axes"), ({"axes": (0, 0)}, "axes"), ({"axes": (0,), "period": -1.0}, "period"),
    ({"axes": (0, 1), "period": (1.0,)}, "period"), ({"axes": (0,), "trainable": "yes"}, "trainable")])
def test_periodic_embedding_bad_arguments(kw, match):
  with pytest.raises(ValueError, match=match):
    PeriodicEmbedding(2, **kw)


def test_embedding_chain_checks_sizes():
  with pytest.raises(ValueError, match=r"embedding\[1\].in_features=2"):
    EmbeddingChain([PeriodicEmbedding(2, axes=(1,)), FourierFeatures(2, 8, rngs=nnx.Rngs(0))])
  with pytest.raises(ValueError, match="must equal the model's in_features=3"):
    MLP(3, [4, 1], embedding=FourierFeatures(2, 8, rngs=nnx.Rngs(0)), rngs=nnx.Rngs(0))
  with pytest.raises(TypeError, match="embedding"):
    MLP(2, [4, 1], embedding=jnp.sin, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("module", ["dense", "embedding", "fourier_features", "periodic", "mlp",
                                    "modified_mlp", "piratenet"])
def test_docstring_examples_run(module):
  mod = importlib.import_module(f"opifex_fit.models.{module}")
  globs = {"jax": jax, "jnp": jnp, "np": np, "nnx": nnx, **vars(mod)}
  result = doctest.testmod(mod, globs=globs, verbose=False)
  assert result.attempted > 0 and result.failed == 0
