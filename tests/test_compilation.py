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
