"""Nothing a callback changes may recompile the chunk."""

import numpy as np

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def test_changing_weights_lr_and_data_between_chunks_does_not_recompile():
  x2, y2 = sine_data(128, seed=7)
  changes = []

  def mutate(learner):
    learner.loss_weights["data"] = 1.0 + learner.step / 100
    learner.lr_scale = 0.5 if learner.step % 20 else 1.0
    learner.data = (x2, y2 * (1 + learner.step / 1000))
    changes.append(learner.step)

  learner = make_learner()
  learner.fit(sine_data(), steps=100, callbacks=[cb.LambdaCallback(on_step_end=mutate, every=10)],
              verbose=0)
  assert len(changes) == 10
  assert learner.trace_counts["chunk"] == 1
  # A second fit with same-shaped data reuses the compiled chunk.
  learner.fit(sine_data(128, seed=9), steps=50, steps_per_execution=10, verbose=0)
  assert learner.trace_counts["chunk"] == 1
  assert np.isclose(learner.lr_scale, 1.0)


def test_minibatch_fit_compiles_once_across_epochs_and_validation():
  learner = make_learner()
  learner.fit(sine_data(), epochs=10, batch_size=32, validation_data=sine_data(40, 1), verbose=0)
  assert learner.trace_counts == {"chunk": 1, "eval": 1}


def test_keras_recipe_compiles_one_chunk_whatever_the_cadences(tmp_path):
  # 50,000 examples in batches of 128: epochs of 391 steps; cadences 100 and
  # 1000 and validation per epoch divide nothing: still one chunk compile.
  x = np.random.default_rng(0).uniform(-1, 1, (50_000, 1)).astype(np.float32)
  learner = make_learner(width=4)
  history = learner.fit((x, np.sin(3 * x)), epochs=3, batch_size=128, verbose=0,
                        validation_data=sine_data(64, 1), callbacks=[
                            cb.EarlyStopping("val_loss", patience=50),
                            cb.Checkpoint(tmp_path / "ckpt", every=1000, verbose=0),
                            cb.TensorBoard(tmp_path / "tb", every=100)])
  assert learner.trace_counts == {"chunk": 1, "eval": 1} and learner.step == 1173
  # History rows only at boundaries: multiples of 100 and the three epoch ends.
  assert history.steps == sorted([*range(100, 1174, 100), 391, 782, 1173])
  assert [s for s, v in zip(history.steps, history.val_loss) if not np.isnan(v)] == \
      [391, 782, 1173]
