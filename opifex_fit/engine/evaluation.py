"""Evaluation and prediction of the current state, in eval mode and in batches.

``Learner.evaluate`` and ``Learner.predict`` are thin wrappers over these
functions; the loop's validation uses ``evaluate_prepared`` too. Each jitted
function is built once per model structure through ``learner.cached`` and
its arguments are placed on the mesh by ``learner.place``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit import validators
from opifex_fit.engine import chunk as step_lib
from opifex_fit.inputs import batching, streaming


def evaluate_prepared(learner, data, batch_size=None) -> dict:
  """``{"loss", "<term>_loss", metrics...}`` (device scalars) on ``data``
  already checked by ``problem.prepare``; in batches of ``batch_size``
  examples (example-weighted means) if asked."""
  fn = learner.cached("eval", lambda: step_lib.build_eval(
      graphdef=learner.eval_graphdef, loss_terms_fn=learner.loss_terms_fn,
      trace_counts=learner.trace_counts, placement=learner.placement,
      metrics_fn=learner.problem.metrics))
  batch_size = validators.positive_int(batch_size, "batch_size")
  problem, state = learner.problem, learner.state
  n = problem.num_examples(data)
  data = learner.place(data)
  args = (state.params, state.rest)
  if batch_size is None or n is None or batch_size >= n:
    return fn(*args, data, state.loss_weights)
  return batching.example_weighted_mean(
      (fn(*args, problem.take(data, index), state.loss_weights), len(index))
      for index in (jnp.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)))


def predict(learner, x, batch_size=None) -> jax.Array:
  """The model output for ``x`` in eval mode, in batches along the leading axis
  if asked (sliced on the host: inputs larger than the device are fine)."""
  batch_size = validators.positive_int(batch_size, "batch_size")
  fn = learner.cached("predict", lambda: step_lib.build_predict(
      graphdef=learner.eval_graphdef, predict_fn=learner.problem.predict,
      trace_counts=learner.trace_counts, placement=learner.placement))
  state = learner.state
  n = max(np.shape(a)[0] for a in jax.tree.leaves(x))
  if batch_size is None or batch_size >= n:
    inputs = learner.place(jax.tree.map(jnp.asarray, x))
    _check_predict_input(learner, fn, inputs, x)
    return fn(state.params, state.rest, inputs)

  def part(i):  # shared inputs (leading dimension 1) go whole with every slice
    return jax.tree.map(lambda a: jnp.asarray(a if np.shape(a)[0] == 1 else a[i:i + batch_size]), x)
  _check_predict_input(learner, fn, learner.place(part(0)), x)
  parts = [fn(state.params, state.rest, learner.place(part(i))) for i in range(0, n, batch_size)]
  return jax.tree.map(lambda *p: jnp.concatenate(p), *parts)


def _check_predict_input(learner, fn, inputs, x) -> None:
  """Traces ``fn`` on ``inputs`` (jit's own trace cache: no extra trace for
  the call that follows) and turns a failure into a ValueError with shapes."""
  state, counts = learner.state, learner.trace_counts
  traces = dict(counts)
  try:
    jax.eval_shape(fn, state.params, state.rest, inputs)
  except Exception as e:  # rethrown with the shapes that matter
    counts.clear()
    counts.update(traces)  # nothing was compiled
    seen = None if state.data is None else learner.problem.model_inputs(state.data)
    hint = "" if seen is None else f" (it was trained on x of shape {jax.tree.map(np.shape, seen)})"
    raise ValueError(f"predict: x of shape {jax.tree.map(np.shape, x)} does not fit the "
                     f"model{hint}: {type(e).__name__}: {e}") from e


def evaluate(learner, data, batch_size=None) -> dict:
  """``evaluate_prepared`` on arrays, or its example-weighted mean over the
  batches of a ``HostDataset`` / iterable of batches."""
  stream = streaming.as_stream(data)
  if stream is not None:
    return streaming.evaluate(learner, stream, batch_size,
                              lambda batch: evaluate_prepared(learner, batch))
  return evaluate_prepared(learner, learner.problem.prepare(learner.model, data, "data"), batch_size)
