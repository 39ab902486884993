"""NNX model state: BatchNorm statistics, Dropout RNG streams and custom
variables are trained in train mode and carried in the TrainState; evaluate,
predict and validation run in eval mode (issue 12: H1, M4)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from support import sine_data

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.engine import modes


class Calls(nnx.Variable):
  """A custom variable: counts the training-mode forward passes."""


class Net(nnx.Module):
  def __init__(self, *, batch_norm=False, dropout=0.0, rngs):
    self.l1 = nnx.Linear(1, 32, rngs=rngs)
    self.bn = nnx.BatchNorm(32, momentum=0.9, rngs=rngs) if batch_norm else None
    self.drop = nnx.Dropout(dropout, rngs=rngs) if dropout else None
    self.l2 = nnx.Linear(32, 1, rngs=rngs)
    self.calls = Calls(jnp.zeros((), jnp.int32))

  def __call__(self, x):
    h = self.l1(x)
    h = h if self.bn is None else self.bn(h)
    h = jnp.tanh(h)
    h = h if self.drop is None else self.drop(h)
    self.calls[...] += 1
    return self.l2(h)


def learner_for(**kwargs):
  return of.Learner(Net(rngs=nnx.Rngs(0), **kwargs), of.Supervised(), optax.adam(1e-2))


def batch_stats(learner):
  return jax.device_get((learner.state.rest["bn"]["mean"][...],
                         learner.state.rest["bn"]["var"][...]))


def model_leaves(learner):
  """Every array of params and rest on the host (PRNG keys as key data)."""
  def host(a):
    return jax.random.key_data(a) if jnp.issubdtype(a.dtype, jax.dtypes.prng_key) else a
  return [np.asarray(host(a)) for a in jax.tree.leaves((learner.state.params,
                                                        learner.state.rest))]


def test_batchnorm_model_trains_and_its_statistics_follow_the_data():
  x, y = sine_data(256)
  learner = learner_for(batch_norm=True)
  before, initial = batch_stats(learner), learner.evaluate((x, y))["loss"]
  history = learner.fit((x, y), epochs=20, batch_size=64, verbose=0)
  assert learner.evaluate((x, y))["loss"] < 0.2 * initial
  assert history.loss[-1] < 0.2 * initial
  mean, var = batch_stats(learner)
  assert not np.allclose(mean, before[0]) and not np.allclose(var, before[1])
  # The running mean tracks the pre-activations of the data (momentum 0.9,
  # 80 updates): close to their mean over all examples.
  model = learner.model
  assert np.allclose(mean, np.mean(model.l1(x), axis=0), atol=0.1)
  assert learner.trace_counts["chunk"] == 1
  assert int(learner.model.calls[...]) == 80  # one training forward per step


def test_evaluate_and_predict_use_the_running_averages():
  x, y = sine_data(256)
  learner = learner_for(batch_norm=True)
  learner.fit((x, y), steps=30, batch_size=64, verbose=0)
  eval_model = modes.eval_view(learner.model)
  expected = eval_model(x)
  np.testing.assert_allclose(learner.predict(x), expected, rtol=1e-5, atol=1e-6)
  # Batch statistics on a single example would give a constant output.
  np.testing.assert_allclose(learner.predict(x[:1]), expected[:1], rtol=1e-5, atol=1e-6)
  loss = learner.evaluate((x, y))["loss"]
  assert loss == pytest.approx(float(jnp.mean((expected - y) ** 2)), rel=1e-5)
  before = batch_stats(learner)
  learner.evaluate((x, y))
  learner.predict(x)
  np.testing.assert_array_equal(batch_stats(learner)[0], before[0])  # eval writes nothing


def test_model_state_resumes_exactly_from_a_checkpoint(tmp_path):
  x, y = sine_data(256)

  def fit(directory, steps):
    learner = learner_for(batch_norm=True, dropout=0.3)
    saving = [] if directory is None else [cb.Checkpoint(directory, every=20, verbose=0)]
    learner.fit((x, y), steps=steps, batch_size=64, verbose=0, callbacks=saving)
    return learner

  fit(tmp_path / "a", 20)
  resumed, reference = fit(tmp_path / "a", 40), fit(None, 40)  # the reference saves nothing
  assert resumed.step == reference.step == 40
  # Weights, BatchNorm statistics, the Dropout stream and the custom variable.
  for a, b in zip(model_leaves(resumed), model_leaves(reference), strict=True):
    np.testing.assert_array_equal(a, b)
  assert int(resumed.model.calls[...]) == 40
  path = tmp_path / "weights"
  reference.save(path)
  loaded = learner_for(batch_norm=True, dropout=0.3)
  loaded.load(path)
  np.testing.assert_array_equal(batch_stats(loaded)[0], batch_stats(reference)[0])


def test_dropout_trains_stochastically_and_evaluates_deterministically():
  x, y = sine_data(128)
  learner = learner_for(dropout=0.5)
  count = lambda: int(learner.state.rest["drop"]["rngs"]["count"][...])
  start = count()
  history = learner.fit((x, y), steps=40, verbose=0, validation_data=(x, y),
                        validation_every=20)
  assert count() == start + 40  # one draw of the Dropout stream per step
  # In eval mode Dropout is the identity: the hand-written forward without it.
  model = learner.model
  by_hand = model.l2(jnp.tanh(model.l1(x)))
  np.testing.assert_allclose(learner.predict(x), by_hand, rtol=1e-5, atol=1e-6)
  first, second = learner.evaluate((x, y)), learner.evaluate((x, y))
  assert first == second
  assert first["loss"] == pytest.approx(float(jnp.mean((by_hand - y) ** 2)), rel=1e-5)
  assert history["val_loss"][-1] == pytest.approx(first["loss"], rel=1e-5)
  assert count() == start + 40  # evaluation consumed no randomness
  # Training mode really drops: the last chunk's training loss is the noisy one.
  assert history.loss[-1] != pytest.approx(first["loss"], rel=1e-3)
  assert learner.trace_counts["chunk"] == 1


def test_the_users_module_keeps_its_own_mode():
  learner = learner_for(batch_norm=True, dropout=0.5)
  learner.fit(sine_data(64), steps=5, verbose=0)
  assert learner.model.drop.deterministic is False
  assert learner.model.bn.use_running_average is False
  learner.model.eval()  # the user may switch it; training still runs in train mode
  learner.fit(sine_data(64), steps=5, verbose=0)
  assert int(learner.state.rest["drop"]["rngs"]["count"][...]) == 10
