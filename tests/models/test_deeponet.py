import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit.datasets import antiderivative
from opifex_fit.models import DeepONet


@pytest.fixture
def net():
  model = DeepONet([5, 8, 6], [2, 8, 6], rngs=nnx.Rngs(0))
  model.bias[...] = jnp.array([0.25])
  return model


def _inputs(b=3, p=4):
  rng = np.random.default_rng(0)
  return (jnp.asarray(rng.standard_normal((b, 5)), jnp.float32),
          jnp.asarray(rng.uniform(size=(p, 2)), jnp.float32))


def test_matches_the_hand_written_sum(net):
  u, y = _inputs()
  b = net.branch(u)                                 # last branch layer linear
  t = jnp.tanh(net.trunk(y))                        # last trunk layer activated
  hand = b @ t.T + 0.25
  np.testing.assert_allclose(net((u, y)), hand, rtol=1e-5)


def test_aligned_and_pointwise_forms_agree(net):
  u, y = _inputs(b=3, p=4)
  shared = net((u, y))
  assert shared.shape == (3, 4)
  np.testing.assert_allclose(net((u, y[None])), shared, rtol=1e-6)
  np.testing.assert_allclose(net((u, jnp.broadcast_to(y, (3, 4, 2)))), shared, rtol=1e-6)
  pointwise = net((u, y[:3]))                       # one query per function
  assert pointwise.shape == (3, 1)
  np.testing.assert_allclose(pointwise[:, 0], jnp.diag(shared[:, :3]), rtol=1e-6)


def test_multiple_outputs_split_p():
  net = DeepONet([5, 8, 6], [2, 8, 6], num_outputs=3, rngs=nnx.Rngs(0))
  u, y = _inputs(b=3, p=4)
  out = net((u, y))
  assert out.shape == (3, 4, 3) and net((u, y[:3])).shape == (3, 3)
  b, t = net.branch(u), jnp.tanh(net.trunk(y))
  np.testing.assert_allclose(out[..., 1], b[:, 2:4] @ t[:, 2:4].T, rtol=1e-5)


def test_bad_arguments():
  rngs = nnx.Rngs(0)
  with pytest.raises(ValueError, match="same size p"):
    DeepONet([5, 8, 6], [2, 8, 7], rngs=rngs)
  with pytest.raises(ValueError, match="num_outputs"):
    DeepONet([5, 6], [2, 6], num_outputs=4, rngs=rngs)
  with pytest.raises(ValueError, match="branch"):
    DeepONet(5, [2, 6], rngs=rngs)
  net = DeepONet([5, 6], [2, 6], rngs=rngs)
  with pytest.raises(ValueError, match=r"u_sensors must have shape \(batch, 5\)"):
    net((jnp.ones((3, 4)), jnp.ones((3, 2))))
  with pytest.raises(ValueError, match="y must have shape"):
    net((jnp.ones((3, 5)), jnp.ones((2, 4, 2))))
  with pytest.raises(TypeError, match="pair"):
    net(jnp.ones((3, 5)))


def test_learns_the_antiderivative_through_the_learner():
  (v, y), u = antiderivative(32, n_sensors=20, n_queries=10, cache_dir=None)
  model = DeepONet([20, 32, 32], [1, 32, 32], rngs=nnx.Rngs(0))
  learner = of.Learner(model, of.Supervised(loss="relative_l2"), optax.adam(2e-3))
  before = learner.evaluate(((v, y), u))["loss"]
  learner.fit(((v, y), u), steps=200, verbose=0)
  assert learner.evaluate(((v, y), u))["loss"] < 0.4 * before


def test_shared_queries_train_like_repeated_queries_in_minibatches():
  (v, y), u = antiderivative(32, n_sensors=20, n_queries=10, cache_dir=None)

  def fit(queries):
    model = DeepONet([20, 32, 32], [1, 32, 32], rngs=nnx.Rngs(0))
    learner = of.Learner(model, of.Supervised(loss="relative_l2"), optax.adam(2e-3))
    learner.fit(((v, queries), u), steps=40, batch_size=8, verbose=0)
    return learner

  repeated, shared = fit(y), fit(y[:1])  # (32, 10, 1) against the aligned (1, 10, 1)
  for a, b in zip(jax.tree.leaves(repeated.state.params), jax.tree.leaves(shared.state.params)):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
  want = repeated.evaluate(((v, y), u))["loss"]
  np.testing.assert_allclose(shared.evaluate(((v, y[:1]), u), batch_size=12)["loss"], want,
                             rtol=2e-5)
  np.testing.assert_allclose(shared.predict((v, y[:1]), batch_size=12),
                             repeated.predict((v, y)), rtol=2e-5, atol=1e-6)
  with pytest.raises(ValueError, match="share one leading"):
    shared.fit(((v, y[:2]), u), steps=1, verbose=0)
