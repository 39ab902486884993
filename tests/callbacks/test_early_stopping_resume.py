"""EarlyStopping + Checkpoint: best weights survive a resume; the final checkpoint
is the state a resumed fit continues from (issue 12, M1/M2)."""
import jax
import numpy as np
import orbax.checkpoint as ocp
from support import make_learner, sine_data

from opifex_fit import callbacks as cb


class Score(cb.Callback):
  """Logs ``score = |step - 60|``: best at step 60, then worse at every check."""

  every, order = 20, 10

  def log_names(self, learner):
    return ["score"]

  def on_step_end(self, learner):
    learner.logs["score"] = abs(learner.step - 60.0)


class Record(cb.Callback):
  """Keeps the weights the chunks left at every boundary (before any callback)."""

  every, order = 20, -200

  def __init__(self):
    self.params = {}

  def on_step_end(self, learner):
    self.params[learner.step] = jax.device_get(learner.state.params)


def fit(directory, steps):
  learner, record = make_learner(), Record()
  stopper = cb.EarlyStopping("score", patience=3, restore_best_weights=True, every=20)
  learner.fit(sine_data(), steps=steps, batch_size=32, verbose=0, callbacks=[
      Score(), stopper, record, cb.Checkpoint(str(directory), every=50, verbose=0)])  # 120 is no save step
  return learner, stopper, record


def kernel(params):
  return np.asarray(params["layers"][0]["kernel"][...])


def read(directory, step, item):
  with ocp.CheckpointManager(str(directory)) as manager:
    return manager.restore(step, args=ocp.args.Composite(**{item: ocp.args.StandardRestore()}))[item]


def assert_same_weights(a, b):
  for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_best_weights_after_a_resume_equal_an_uninterrupted_run(tmp_path):
  reference, ref_stopper, ref_record = fit(tmp_path / "a", 200)
  assert ref_stopper.stopped_step == 120 and ref_stopper.best_step == 60
  assert reference.step == 120
  assert_same_weights(jax.device_get(reference.state.params), ref_record.params[60])

  fit(tmp_path / "b", 100)                    # stopped at step 100, best at 60
  resumed, stopper, record = fit(tmp_path / "b", 200)
  assert min(record.params) == 120            # it did resume from step 100
  assert stopper.state_dict() == ref_stopper.state_dict()
  assert resumed.step == 120
  # The best weights came back from the checkpoint, not the weights at the resume.
  assert_same_weights(jax.device_get(resumed.state.params), jax.device_get(reference.state.params))


def test_the_final_checkpoint_after_an_early_stop_is_the_state_of_the_stop_step(tmp_path):
  learner, _, record = fit(tmp_path, 200)
  with ocp.CheckpointManager(str(tmp_path)) as manager:
    assert manager.latest_step() == 120
  # Weights, optimizer state and counters of step 120 (no mix with step 60) ...
  state = read(tmp_path, 120, "state")
  assert int(state["step"]) == 120
  np.testing.assert_array_equal(state["params"]["layers"]["0"]["kernel"]["value"],
                                kernel(record.params[120]))
  # ... and the best weights (step 60) in EarlyStopping's device state.
  best = read(tmp_path, 120, "device_EarlyStopping_0")
  np.testing.assert_array_equal(best["params"]["layers"]["0"]["kernel"]["value"],
                                kernel(record.params[60]))
  # The model ends with the best weights (Keras semantics).
  np.testing.assert_array_equal(kernel(jax.device_get(learner.state.params)),
                                kernel(record.params[60]))


def test_a_checkpoint_holds_the_validation_check_of_its_step(tmp_path):
  """Checkpoint saves after the boundary's on_validation_end: a resumed
  EarlyStopping on val_loss has made exactly the checks of an uninterrupted run."""
  from support import make_learner, sine_data

  def fit(directory, steps):
    learner, stopper = make_learner(), cb.EarlyStopping("val_loss", patience=1000)
    learner.fit(sine_data(), steps=steps, validation_data=sine_data(seed=1), validation_every=10,
                verbose=0, callbacks=[stopper, cb.Checkpoint(directory, every=10, verbose=0)])
    return stopper

  reference = fit(tmp_path / "ref", 100)
  fit(tmp_path / "cut", 50)
  resumed = fit(tmp_path / "cut", 100)
  assert reference.checks == resumed.checks == 10
