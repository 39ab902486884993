"""cb.LossExplosionRecovery: real rollbacks (weights compared), LR cuts, giving up."""

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


class At(cb.Callback):
  """Runs ``fn(learner)`` at the boundaries in ``steps`` (every 20 steps)."""

  every = 20

  def __init__(self, steps, fn, order=0):
    self.steps, self.fn, self.order = steps, fn, order

  def on_step_end(self, learner):
    if learner.step in self.steps:
      self.fn(learner)


def params_of(learner):
  return jax.device_get(learner.state.params)


def assert_params_equal(a, b):
  for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(u, v)


def spike(learner):
  learner.lr_scale = 1e4  # one bad setting: the next chunk explodes


def test_a_learning_rate_spike_is_rolled_back(capsys):
  seen = {}
  guard = cb.LossExplosionRecovery(factor=10.0, snapshot_every=20)
  learner = make_learner()
  learner.fit(sine_data(), steps=400, batch_size=32, verbose=0, callbacks=[
      guard, At({100}, spike),
      # Before the guard: the weights the chunks left; after it: the repaired ones.
      At({80}, lambda l: seen.setdefault("good", params_of(l)), order=-200),
      At({120}, lambda l: seen.setdefault("after", (params_of(l), l.lr_scale)), order=-50)])
  assert guard.rollbacks == 1 and learner.step == 400
  # Snapshot of step 100 was taken just before the bad chunk: not trusted; the
  # state of step 80 (confirmed good by the chunk after it) comes back.
  after, lr_scale = seen["after"]
  assert_params_equal(after, seen["good"])
  assert lr_scale == 0.5
  assert "rolled back to the state of step 80" in capsys.readouterr().out
  loss = learner.evaluate(sine_data())["loss"]
  assert np.isfinite(loss) and loss < 0.05
  assert all(np.isfinite(a).all() for a in jax.tree.leaves(params_of(learner)))


def test_a_one_shot_nan_poisoning_is_rolled_back_and_training_finishes():
  def poison(learner):  # fit refuses NaN input, so it goes in through the state
    x, y = learner.state.data
    learner.state = learner.state.replace(data=(x, jnp.full_like(y, jnp.nan)))

  guard = cb.LossExplosionRecovery(snapshot_every=20, verbose=0)
  learner = make_learner()
  learner.fit(sine_data(), steps=300, batch_size=32, verbose=0,
              callbacks=[guard, At({100}, poison)])
  assert guard.rollbacks == 1 and learner.step == 300
  assert np.isfinite(np.asarray(learner.state.data[1])).all()  # the data came back too
  assert learner.evaluate(sine_data())["loss"] < 0.05


def test_persistent_divergence_stops_with_the_last_good_weights_checkpointed(tmp_path):
  def poison(learner):
    x, y = learner.state.data
    learner.state = learner.state.replace(data=(x * jnp.nan, y))

  seen = {}
  guard = cb.LossExplosionRecovery(max_retries=2, snapshot_every=20, verbose=0)
  learner = make_learner()
  with pytest.warns(RuntimeWarning, match="diverged 3 times without a good stretch.*step 80"):
    learner.fit(sine_data(), steps=400, batch_size=32, verbose=0, callbacks=[
        guard, At(range(100, 400), poison),
        At({80}, lambda l: seen.setdefault("good", params_of(l)), order=-200),
        cb.Checkpoint(tmp_path, every=200, verbose=0)])
  assert learner.stop_training and learner.step == 160 and guard.retries == 3
  assert_params_equal(params_of(learner), seen["good"])
  # The Checkpoint wrote those weights at the end of the fit.
  with ocp.CheckpointManager(str(tmp_path)) as manager:
    assert manager.latest_step() == 160
    state = manager.restore(160, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
  np.testing.assert_array_equal(state["params"]["layers"]["0"]["kernel"]["value"],
                                seen["good"]["layers"][0]["kernel"][...])


def test_a_healthy_fit_is_left_alone():
  guard = cb.LossExplosionRecovery(snapshot_every=20)
  plain, guarded = make_learner(), make_learner()
  plain.fit(sine_data(), steps=200, batch_size=32, verbose=0, callbacks=[At((), None)])
  guarded.fit(sine_data(), steps=200, batch_size=32, verbose=0, callbacks=[guard])
  assert guard.rollbacks == 0 and guard.best is not None
  assert_params_equal(params_of(plain), params_of(guarded))


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, "factor"), ({"max_retries": -1}, "max_retries"),
    ({"lr_factor": 0.0}, "lr_factor"), ({"lr_factor": 2.0}, "lr_factor"),
    ({"snapshot_every": 0}, "snapshot_every")])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    cb.LossExplosionRecovery(**kwargs)


def test_repeated_spikes_right_after_each_rollback_give_up_after_max_retries(capsys):
  # Issue 12, H3: every other check explodes again. The retry counter must not
  # reset on the good check after a rollback (no snapshot was promoted), the
  # lr cut compounds, and the guard gives up instead of rolling back forever.
  guard = cb.LossExplosionRecovery(factor=10.0, max_retries=3, snapshot_every=20)
  learner = make_learner()
  start = params_of(learner)
  with pytest.warns(RuntimeWarning, match="diverged 4 times"):
    learner.fit(sine_data(), steps=400, batch_size=32, verbose=0,
                callbacks=[guard, At(range(20, 400, 40), spike)])
  assert guard.rollbacks == 3 and guard.retries == 4
  assert learner.stop_training and learner.step == 160
  out = capsys.readouterr().out
  assert [s in out for s in ("lr_scale -> 0.5 ", "lr_scale -> 0.25 ", "lr_scale -> 0.125 ")] \
      == [True] * 3
  assert out.count("rolled back to the state of step 0") == 3
  assert_params_equal(params_of(learner), start)  # nothing good was ever promoted


def test_a_good_stretch_promotes_a_snapshot_and_resets_the_retries():
  guard = cb.LossExplosionRecovery(factor=10.0, max_retries=1, snapshot_every=20, verbose=0)
  learner = make_learner()
  learner.fit(sine_data(), steps=300, batch_size=32, verbose=0,
              callbacks=[guard, At({20, 140}, spike)])
  # Two explosions, each one retry: no give-up; the second cut compounds the first.
  assert guard.rollbacks == 2 and guard.retries == 0 and learner.step == 300
  assert learner.lr_scale == 0.25


def test_loss_weight_changes_are_not_explosions():
  # What GradNorm/LRAnnealing do: the weighted loss jumps 100x, the terms do not.
  def reweight(learner):
    learner.loss_weights = {"data": 100.0}

  guard = cb.LossExplosionRecovery(factor=10.0, snapshot_every=20)
  learner = make_learner()
  learner.fit(sine_data(), steps=200, batch_size=32, verbose=0,
              callbacks=[guard, At({20}, reweight)])
  assert guard.rollbacks == 0 and learner.loss_weights["data"] == 100.0
  assert guard.best == pytest.approx(min(learner.history["data_loss"]))


def test_replaced_training_points_rebaseline_instead_of_rolling_back():
  """RAD/RARD put harder points in: the next loss is higher but no explosion."""
  from support import make_learner, sine_data

  class HarderPoints(cb.Callback):
    every, order = 20, 0  # as RAD: after the guard at the same boundary

    def on_step_end(self, learner):
      if learner.step == 40:
        x, y = learner.data
        learner.data = (x, 100.0 * y)

  learner = make_learner()
  guard = cb.LossExplosionRecovery(factor=10.0, snapshot_every=20, verbose=0)
  learner.fit(sine_data(), steps=100, verbose=0, callbacks=[guard, HarderPoints()])
  assert guard.rollbacks == 0 and learner.step == 100
  assert guard.best > 10.0  # the reference is now a loss on the harder points


def test_a_large_penalty_term_cannot_hide_the_jump_of_a_small_one(capsys):
  # l2_loss (raw sum of squares) is about 70; data_loss about 0.01. Shifting
  # the output by 10 makes data_loss about 100 (10^4x) while the unweighted
  # sum grows under 3x: judged term by term, it is rolled back.
  def shift_output(learner):
    params = jax.tree.map(lambda a: a, learner.state.params)
    bias = params["layers"][2]["bias"]
    bias[...] = bias[...] + 10.0
    learner.state = learner.state.replace(params=params)

  guard = cb.LossExplosionRecovery(factor=10.0, snapshot_every=20)
  learner = make_learner(width=64)
  learner.fit(sine_data(), steps=160, verbose=0, callbacks=[
      guard, cb.WeightPenalty(l2=1e-6), At({100}, shift_output)])
  assert guard.rollbacks == 1 and 50 < guard.best < 100 and guard.best_terms["l2_loss"] > 50
  assert "data_loss=" in capsys.readouterr().out and learner.history["data_loss"][-1] < 0.1
