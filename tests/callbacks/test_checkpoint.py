"""cb.Checkpoint: exact resume (also after SIGKILL), refusals, retention, layout."""
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from opifex_fit import callbacks as cb
from support import make_learner, sine_data

sys.path.insert(0, os.path.dirname(__file__))
import checkpoint_worker as worker  # noqa: E402

WORKER = worker.__file__


def leaves(learner):
  return jax.device_get(jax.tree.leaves(
      (learner.state.params, learner.state.opt_state, jax.random.key_data(learner.state.rng),
       learner.state.perm, learner.state.step)))


def assert_same_state(a, b):
  for u, v in zip(leaves(a), leaves(b), strict=True):
    np.testing.assert_array_equal(u, v)


def test_killed_runs_resume_to_the_uninterrupted_state_bit_for_bit(tmp_path):
  run_dir = str(tmp_path / "run")
  # Killed between checkpoints (last one at 40), then right after the async
  # save of step 80 started: the resumed fit starts from 80 or 60.
  for kill_at in (50, 80):
    proc = subprocess.run([sys.executable, WORKER, run_dir, "120", str(kill_at)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
  assert max(int(s) for s in os.listdir(run_dir) if s.isdigit()) in (60, 80)
  resumed = worker.run(run_dir, 120)
  reference = worker.run(str(tmp_path / "reference"), 120)
  assert resumed.step == reference.step == 120
  assert_same_state(resumed, reference)
  assert resumed.history.steps == reference.history.steps
  assert resumed.history["loss"] == reference.history["loss"]


def test_resume_in_process_restores_callbacks_and_history(tmp_path):
  data = sine_data()

  def fit(directory, steps):
    learner, stopper = make_learner(), cb.EarlyStopping("loss", patience=100, every=10)
    learner.fit(data, steps=steps, batch_size=32, verbose=0,
                callbacks=[stopper, cb.Checkpoint(directory, every=10, verbose=0)])
    return learner, stopper

  first, first_stopper = fit(tmp_path / "a", 50)
  assert first_stopper.checks == 5
  resumed, stopper = fit(tmp_path / "a", 130)
  reference, ref_stopper = fit(tmp_path / "b", 130)
  assert resumed.step == 130 and stopper.checks == 13
  assert stopper.state_dict() == ref_stopper.state_dict()  # wait, best, checks, ...
  assert_same_state(resumed, reference)
  assert resumed.history.steps == reference.history.steps


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A 40-step run checkpointed every 10 steps (shared: the tests only read it)."""
  directory = tmp_path_factory.mktemp("finished")
  learner = make_learner()
  learner.fit(sine_data(), steps=40, verbose=0, callbacks=[cb.Checkpoint(directory, every=10)])
  return directory, learner


def test_a_finished_run_is_not_trained_again(finished):
  directory, done = finished
  again = make_learner()
  again.fit(sine_data(), steps=40, verbose=0, callbacks=[cb.Checkpoint(directory, every=10)])
  assert again.step == 40 and "chunk" not in again.trace_counts
  assert_same_state(again, done)


def test_unwritable_directory_fails_before_training(tmp_path):
  (tmp_path / "a_file").write_text("not a directory")
  learner = make_learner()
  with pytest.raises(ValueError, match="not writable"):
    learner.fit(sine_data(), steps=20, verbose=0,
                callbacks=[cb.Checkpoint(tmp_path / "a_file" / "ckpt", every=10)])
  assert learner.step == 0 and "chunk" not in learner.trace_counts
  assert (tmp_path / "a_file").read_text() == "not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_directory_fails_before_training(tmp_path):
  os.chmod(tmp_path, 0o500)
  try:
    with pytest.raises(ValueError, match="not writable"):
      make_learner().fit(sine_data(), steps=20, verbose=0,
                         callbacks=[cb.Checkpoint(tmp_path / "ckpt", every=10)])
  finally:
    os.chmod(tmp_path, 0o700)


def test_a_directory_of_another_model_is_refused_and_kept(finished):
  directory, _ = finished
  before = sorted(os.listdir(directory))
  other = make_learner(width=8)
  with pytest.raises(ValueError, match=r"does not match.*\n.*params.*float32\[16\].*float32\[8\]"):
    other.fit(sine_data(), steps=20, verbose=0, callbacks=[cb.Checkpoint(directory, every=10)])
  assert other.step == 0 and sorted(os.listdir(directory)) == before


def test_resume_false_refuses_to_mix_runs(finished):
  with pytest.raises(ValueError, match="resume=False"):
    make_learner().fit(sine_data(), steps=20, verbose=0,
                       callbacks=[cb.Checkpoint(finished[0], every=10, resume=False)])


def test_keeps_the_latest_and_the_best(tmp_path):
  learner = make_learner()
  # mode="max" on a falling loss: the best checkpoints are the first ones.
  learner.fit(sine_data(), steps=50, verbose=0,
              callbacks=[cb.Checkpoint(tmp_path, every=10, max_to_keep=1, monitor="loss",
                                       mode="max", verbose=0)])
  assert sorted(int(s) for s in os.listdir(tmp_path) if s.isdigit()) == [10, 50]


def test_plain_orbax_reads_the_layout(finished):
  directory, learner = finished
  with ocp.CheckpointManager(str(directory)) as manager:
    step = manager.latest_step()
    ckpt = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(), history=ocp.args.JsonRestore(),
        callbacks=ocp.args.JsonRestore(), metadata=ocp.args.JsonRestore()))
  assert step == 40 and int(ckpt["state"]["step"]) == 40
  kernel = ckpt["state"]["params"]["layers"]["0"]["kernel"]["value"]
  np.testing.assert_array_equal(kernel, learner.state.params["layers"][0]["kernel"][...])
  np.testing.assert_array_equal(ckpt["state"]["rng"], jax.random.key_data(learner.state.rng))
  assert ckpt["history"]["steps"] == learner.history.steps
  assert "EarlyStopping_0" not in ckpt["callbacks"] and "HistoryRecorder_0" in ckpt["callbacks"]
  meta = ckpt["metadata"]
  assert meta["model"] == "MLP" and meta["jax"] == jax.__version__ and meta["loss_terms"] == ["data"]


def test_callback_state_must_be_json(tmp_path):
  class Bad(cb.Callback):
    def state_dict(self):
      return {"weights": np.zeros(2)}

  learner = make_learner()
  with pytest.raises(TypeError, match="Bad.state_dict"):
    learner.fit(sine_data(), steps=10, verbose=0,
                       callbacks=[Bad(), cb.Checkpoint(tmp_path, every=10, verbose=0)])
  assert "chunk" not in learner.trace_counts  # refused before compiling


@pytest.mark.parametrize("kwargs, match", [
    ({"every": 0}, "every"), ({"max_to_keep": -1}, "max_to_keep"), ({"mode": "up"}, "mode"),
    ({"keep_best": 2}, "keep_best"), ({"resume": "yes"}, "resume"), ({"monitor": ""}, "monitor")])
def test_bad_arguments(tmp_path, kwargs, match):
  with pytest.raises((ValueError, TypeError), match=match):
    cb.Checkpoint(tmp_path, **kwargs)
