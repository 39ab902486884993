import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from support import make_learner, sine_data


def test_fit_reduces_loss_and_updates_the_users_model(learner, data):
  before = np.asarray(learner.predict(data[0]))
  initial = learner.evaluate(data)["loss"]
  history = learner.fit(data, steps=300, verbose=0)
  assert history.steps == [300] and learner.step == 300  # one 300-step chunk
  assert learner.evaluate(data)["loss"] < 0.25 * initial
  after_model = np.asarray(learner.model(jnp.asarray(data[0])))
  np.testing.assert_allclose(after_model, np.asarray(learner.predict(data[0])), rtol=1e-6)
  assert not np.allclose(before, after_model)


def test_history_names_and_alignment(learner, data):
  h = learner.fit(data, steps=100, validation_data=sine_data(32, seed=1),
                  validation_every=50, steps_per_execution=25, verbose=0)
  assert {"loss", "data_loss", "val_loss", "val_data_loss", "lr_scale"} <= set(h)
  assert h.steps == [25, 50, 75, 100]
  assert all(len(v) == 4 for v in h.values())
  assert np.isnan(h.val_loss[0]) and np.isfinite(h.val_loss[1])
  assert h["loss"] is h.loss


def test_evaluate_matches_hand_computed_mse(learner, data):
  x, y = data
  pred = np.asarray(learner.predict(x))
  got = learner.evaluate((x, y))
  np.testing.assert_allclose(got["loss"], np.mean((pred - y) ** 2), rtol=1e-5)
  batched = learner.evaluate((x, y), batch_size=50)  # 50 + 50 + 28, weighted
  np.testing.assert_allclose(batched["loss"], got["loss"], rtol=1e-5)


def test_predict_in_batches_equals_full(learner, data):
  full = learner.predict(data[0])
  np.testing.assert_allclose(learner.predict(data[0], batch_size=30), full, rtol=1e-6)


def test_fit_again_continues(data):
  a, b = make_learner(), make_learner()
  a.fit(data, steps=200, verbose=0)
  b.fit(data, steps=100, verbose=0)
  b.fit(data, steps=100, verbose=0)
  assert b.step == 200
  # Same number of steps; the second fit reshuffles from its own start, so the
  # two runs differ only through data order (full batch here: identical).
  np.testing.assert_array_equal(a.predict(data[0]), b.predict(data[0]))


def test_same_seed_same_history_bit_for_bit(data):
  runs = []
  for _ in range(2):
    learner = make_learner(seed=3)
    runs.append(learner.fit(data, epochs=20, batch_size=32, verbose=0))
  assert runs[0].steps == runs[1].steps
  assert runs[0].loss == runs[1].loss
  other = make_learner(seed=4).fit(data, epochs=20, batch_size=32, verbose=0)
  assert other.loss != runs[0].loss


def test_minibatch_epochs_see_every_example(data):
  learner = make_learner()
  seen = []
  take = learner.problem.take
  learner.problem.take = lambda d, i: (jax.debug.callback(lambda v: seen.append(np.asarray(v)), i),
                                       take(d, i))[1]
  learner.fit(data, epochs=2, batch_size=50, verbose=0)  # 128 examples: 3 batches
  assert len(seen) == 6
  for epoch in (seen[:3], seen[3:]):
    assert set(np.concatenate(epoch).tolist()) == set(range(128))
  assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:]))
  assert learner.epoch == 2


def test_lr_scale_multiplies_every_update(data):
  frozen = make_learner()
  frozen.lr_scale = 0.0
  start = frozen.predict(data[0])
  frozen.fit(data, steps=50, verbose=0)
  np.testing.assert_array_equal(frozen.predict(data[0]), start)
  half_lr, half_scale = make_learner(lr=1e-3), make_learner(lr=2e-3)
  half_scale.lr_scale = 0.5
  opt = optax.sgd(1e-2)
  for lrn, lr, scale in ((half_lr, 1e-2, 1.0), (half_scale, 2e-2, 0.5)):
    lrn.optimizer = optax.sgd(lr)
    lrn.lr_scale = scale
    lrn.fit(data, steps=20, verbose=0)
  del opt
  np.testing.assert_allclose(half_lr.predict(data[0]), half_scale.predict(data[0]), rtol=1e-5)


def test_schedule_inside_optimizer_works(data):
  # The learning rate drops to zero at step 50: 100 steps must equal 50 steps.
  schedule = optax.piecewise_constant_schedule(1e-2, {50: 0.0})
  runs = []
  for steps in (50, 100):
    learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
                         optax.sgd(schedule))
    learner.fit(data, steps=steps, steps_per_execution=10, verbose=0)
    runs.append(learner.predict(data[0]))
  np.testing.assert_array_equal(runs[0], runs[1])


def test_loss_weights_view_writes_state(learner):
  learner.loss_weights["data"] = 3.0
  assert learner.loss_weights == {"data": 3.0}
  assert learner.state.loss_weights["data"].dtype == jnp.float32
  learner.loss_weights = {"data": 2.0}
  assert float(learner.state.loss_weights["data"]) == 2.0


def test_add_loss_term_adds_weighted_regulariser(data):
  learner = make_learner()
  l2 = lambda model, batch: sum(jnp.sum(p ** 2) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  learner.add_loss_term("l2", l2, weight=1e-3)
  h = learner.fit(data, steps=50, verbose=0)
  assert "l2_loss" in h and "l2_weight" in h
  got = learner.evaluate(data)
  np.testing.assert_allclose(got["loss"], got["data_loss"] + 1e-3 * got["l2_loss"], rtol=1e-5)


def test_setting_lbfgs_directly_compiles_once_and_trains(data):
  learner = make_learner()
  learner.optimizer = optax.lbfgs()  # its init aliases the params: must be copied
  before = learner.evaluate(data)["loss"]
  learner.fit(data, steps=40, steps_per_execution=20, verbose=0)
  learner.fit(data, steps=20, verbose=0)
  assert learner.trace_counts["chunk"] == 1
  assert learner.evaluate(data)["loss"] < 0.1 * before


def test_save_and_load_round_trip(tmp_path, data):
  a, b = make_learner(seed=0), make_learner(seed=1)
  a.fit(data, steps=50, verbose=0)
  a.save(tmp_path / "w")
  b.load(tmp_path / "w")
  np.testing.assert_array_equal(a.predict(data[0]), b.predict(data[0]))
