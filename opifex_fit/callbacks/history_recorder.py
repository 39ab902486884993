"""HistoryRecorder: records ``learner.logs`` into ``learner.history`` (always on)."""

from __future__ import annotations

from opifex_fit.callbacks.base import ORDER_METRICS, Callback


class HistoryRecorder(Callback):
  """Appends one record of ``learner.logs`` at every chunk boundary.

  The learner adds one automatically; records accumulate across fits of the
  same learner (global steps), and ``fit`` returns ``learner.history``.

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> x = np.linspace(-1, 1, 32)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
    ...                      optax.adam(1e-2))
    >>> history = learner.fit((x, x ** 2), steps=30, verbose=0, steps_per_execution=10)
    >>> history.steps                        # one record per chunk boundary
    [10, 20, 30]
    >>> len(learner.fit((x, x ** 2), steps=20, verbose=0, steps_per_execution=10).steps)
    5
  """

  order = ORDER_METRICS
  every = None
  observer = True  # only reads logs: may run while the next chunk computes

  def on_step_end(self, learner):
    learner.history.record(learner.step, learner.logs)

  def on_validation_end(self, learner):
    # Validation values join the record of the same step.
    learner.history.record(learner.step, learner.logs)
