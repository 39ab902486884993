"""Building the jitted functions: the n-step training chunk and evaluation.

``build_chunk`` returns ``run_chunk(state, n) -> (state, metrics)``: ``n``
optimizer steps in one ``lax.fori_loop`` whose bound is traced, so one
compiled chunk serves every length (``benchmarks/chunk_formulation.py``: as
fast as a static ``lax.scan``); minibatches drawn on device from the state's key,
per-term losses averaged over the chunk on device with ``clu.metrics``. The
state is donated. Everything a callback can change lives in the state as
fixed-shape arrays, so one compiled chunk serves the whole fit.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from clu import metrics as clu_metrics
from flax import nnx

from opifex_fit.engine import modes, step_hooks
from opifex_fit.parallel.sharding import jit_replicated
from opifex_fit.engine.state import TrainState, float_dtype

SHUFFLE_STREAM = 0x5F1E  # fold_in tag: shuffling keys never collide with callbacks'


def weighted_loss(terms: dict, weights: dict) -> jax.Array:
  return sum(weights[name] * terms[name] for name in terms)


def metrics_collection(term_names) -> type:
  """A clu ``Collection`` averaging the total and every term over a chunk."""
  names = ["loss"] + [f"{t}_loss" for t in term_names]
  return clu_metrics.Collection.create(
      **{n: clu_metrics.Average.from_output(n) for n in names})


def empty_metrics(collection, dtype):
  """An empty accumulator whose totals are ``dtype`` and whose counts have
  the dtype clu's sums give (int64 under x64): a scan carry of fixed type."""
  names = [n for n in collection.__dataclass_fields__ if n != "_reduction_counter"]
  like = {n: jnp.zeros((), dtype) for n in names}
  shapes = jax.eval_shape(lambda: collection.single_from_model_output(**like))
  return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def learning_rate_of(opt_state):
  """The learning rate the optimizer state exposes (``optax.inject_hyperparams``
  keeps the value of its latest update under ``hyperparams``), or None."""
  found = [v for _, v in optax.tree_utils.tree_get_all_with_path(opt_state, "learning_rate")
           if isinstance(v, jax.Array) and v.ndim == 0]
  return found[0] if len(found) == 1 else None


def make_loss_fn(graphdef, loss_terms_fn):
  """(params, rest, batch, weights) -> (loss, (terms, new_rest))."""
  def loss_fn(params, rest, batch, weights):
    model = modes.merge(graphdef, params, rest)
    terms = loss_terms_fn(model, batch)
    _, _, new_rest = nnx.split(model, nnx.Param, ...)
    return weighted_loss(terms, weights), (terms, new_rest)
  return loss_fn


def make_train_loss_fn(graphdef, loss_terms_fn, hooks):
  """(params, rest, batch, weights, hook_states) -> (loss, (terms, new_rest,
  hook_states)): the training loss, with every step hook's ``loss_terms``."""
  terms_fn = step_hooks.terms_with_hooks(hooks, loss_terms_fn)

  def loss_fn(params, rest, batch, weights, hook_states):
    model = modes.merge(graphdef, params, rest)
    terms, hook_states = terms_fn(model, batch, hook_states)
    _, _, new_rest = nnx.split(model, nnx.Param, ...)
    return weighted_loss(terms, weights), (terms, new_rest, hook_states)
  return loss_fn


def _all_finite(tree) -> jax.Array:
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
            if jnp.issubdtype(x.dtype, jnp.inexact)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _select(pred, on_true, on_false):
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def batch_drawer(*, take, batch_size, num_examples, steps_per_epoch, streamed):
  """``draw(state, data, streamed_batch) -> (batch, perm)``: the step's batch.

  Minibatches follow a permutation drawn on device at each epoch start; the
  last one wraps around to the start of the permutation, so no example is
  dropped and shapes stay fixed."""
  padded = None if batch_size is None or streamed else steps_per_epoch * batch_size

  def new_perm(state):
    key = jax.random.fold_in(jax.random.fold_in(state.rng, SHUFFLE_STREAM), state.step)
    perm = jax.random.permutation(key, num_examples).astype(jnp.int32)
    if padded > num_examples:
      perm = jnp.concatenate([perm, perm[:padded - num_examples]])
    return perm

  def draw(state, data, streamed_batch):
    if streamed:
      return streamed_batch, state.perm
    if batch_size is None:
      return data, state.perm
    perm = jax.lax.cond(state.batch_pos == 0, new_perm, lambda s: s.perm, state)
    index = jax.lax.dynamic_slice_in_dim(perm, state.batch_pos * batch_size, batch_size)
    return take(data, index), perm
  return draw


def epoch_counter(*, batch_size, steps_per_epoch, streamed):
  """``advance(state) -> (epoch, batch_pos)`` after one step."""
  def advance(state):
    if batch_size is None and not streamed:  # full batch: one step is one epoch
      return state.epoch + 1, state.batch_pos
    if steps_per_epoch is None:  # an endless stream
      return state.epoch, state.batch_pos
    pos = (state.batch_pos + 1) % steps_per_epoch
    return state.epoch + (pos == 0).astype(jnp.int32), pos
  return advance


def optimizer_step(loss_fn, optimizer, state, batch, hook_states):
  """One guarded optimizer update: ``(loss, terms, grads, updates, ok, new)``
  with ``new = (params, opt_state, rest, hook_states)``."""
  def value_fn(p):
    return loss_fn(p, state.rest, batch, state.loss_weights, hook_states)[0]

  (loss, (terms, rest, hook_states)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params, state.rest, batch, state.loss_weights, hook_states)
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params,
                                        value=loss, grad=grads, value_fn=value_fn)
  updates = jax.tree.map(lambda u: u * state.lr_scale.astype(u.dtype), updates)
  params = optax.apply_updates(state.params, updates)
  # A non-finite update is skipped, never applied: one bad batch cannot
  # spread NaN into the weights. The skip is counted for the guards.
  ok = jnp.isfinite(loss) & _all_finite(updates)
  params, opt_state, rest = _select(ok, (params, opt_state, rest),
                                    (state.params, state.opt_state, state.rest))
  return loss, terms, grads, updates, ok, (params, opt_state, rest, hook_states)


def build_chunk(*, graphdef, loss_terms_fn: Callable, take: Callable,
                optimizer: optax.GradientTransformationExtraArgs,
                batch_size: int | None, num_examples: int | None,
                steps_per_epoch: int | None, term_names, trace_counts: dict,
                placement=None, state_shardings=None, streamed: bool = False,
                batch_shardings=None, hooks=()):
  """Returns the jitted ``run_chunk(state, n[, batches]) -> (state, metrics)``
  running ``n`` steps (a traced int: no recompile for another length).

  Args:
    take: ``take(data, index) -> batch`` (the problem's minibatch slicer).
    optimizer: wrapped with ``optax.with_extra_args_support``; every update
      receives ``value``, ``grad`` and ``value_fn`` so line-search optimizers
      (``optax.lbfgs``) work unchanged.
    batch_size: None for full batch.
    steps_per_epoch: minibatches per pass.
    placement: an ``opifex_fit.parallel.sharding.DataParallel`` (None: one device).
      Every batch is constrained to its data axis and the state keeps
      ``state_shardings`` in and out, so XLA all-reduces the gradients.
    streamed: the batches come from the host (``opifex_fit.inputs.streaming``):
      ``run_chunk(state, n, batches)`` takes the first ``n`` of the fixed-size
      buffer's leading axis, with ``batch_shardings`` on a mesh. ``steps_per_epoch`` None: epochs never end.
    hooks: the fit's ``StepHook``s (``opifex_fit.engine.step_hooks``), run
      inside every step.
  """
  loss_fn = make_train_loss_fn(graphdef, loss_terms_fn, hooks)
  collection = metrics_collection(term_names)
  draw = batch_drawer(take=take, batch_size=batch_size, num_examples=num_examples,
                      steps_per_epoch=steps_per_epoch, streamed=streamed)
  advance = epoch_counter(batch_size=batch_size, steps_per_epoch=steps_per_epoch,
                          streamed=streamed)

  def one_step(state, acc, streamed_batch):
    hook_states, data = state.hooks, state.data
    if hooks:
      key = jax.random.fold_in(jax.random.fold_in(state.rng, step_hooks.HOOK_STREAM), state.step)
      hook_states, data = step_hooks.prepare_all(hooks, hook_states, data, key, state.step)
    batch, perm = draw(state, data, streamed_batch)
    if placement is not None:
      batch = placement.constrain(batch)
    loss, terms, grads, updates, ok, (params, opt_state, rest, hook_states) = optimizer_step(
        loss_fn, optimizer, state, batch, hook_states)
    if hooks:
      info = step_hooks.StepInfo(
          step=state.step + 1, loss=loss, terms=terms, grads=grads, updates=updates,
          params=state.params, new_params=params, batch=batch, applied=ok,
          model=lambda: modes.merge(graphdef, state.params, state.rest))
      hook_states = step_hooks.after_update_all(hooks, hook_states, info)
    epoch, pos = advance(state)
    state = state.replace(params=params, rest=rest, opt_state=opt_state, data=data,
                          step=state.step + 1, skipped=state.skipped + (~ok).astype(jnp.int32),
                          epoch=epoch, batch_pos=pos, perm=perm, hooks=hook_states)
    outputs = {"loss": loss, **{f"{t}_loss": terms[t] for t in term_names}}
    outputs = {k: jnp.asarray(v).astype(float_dtype(params)) for k, v in outputs.items()}
    return state, acc.merge(collection.single_from_model_output(**outputs))

  def run_chunk(state: TrainState, n, batches=None):
    trace_counts["chunk"] = trace_counts.get("chunk", 0) + 1

    def body(i, carry):
      batch = None if batches is None else jax.tree.map(
          lambda a: jax.lax.dynamic_index_in_dim(a, i, keepdims=False), batches)
      return one_step(*carry, batch)
    acc = empty_metrics(collection, float_dtype(state.params))
    state, acc = jax.lax.fori_loop(0, n, body, (state, acc))
    return state, chunk_logs(state, acc, hooks)

  return _jit_chunk(run_chunk, placement, state_shardings, batch_shardings, streamed)


def chunk_logs(state: TrainState, acc, hooks) -> dict:
  """The logs of a chunk: its mean losses (``acc``), ``lr_scale``, skipped
  updates, the learning rate, the loss weights and the hooks' logs. They are
  outputs, not views of the (donated) state: they stay valid while the next
  chunk runs, so the loop can read them late."""
  logs = dict(acc.compute(), lr_scale=state.lr_scale, skipped_updates=state.skipped)
  lr = learning_rate_of(state.opt_state)
  if lr is not None:  # the real step size: the schedule's value times lr_scale
    logs["lr"] = lr.astype(state.lr_scale.dtype) * state.lr_scale
  if len(state.loss_weights) > 1:
    logs.update({f"{t}_weight": w for t, w in state.loss_weights.items()})
  logs.update(step_hooks.logs_of(hooks, state.hooks))
  return logs


def _jit_chunk(run_chunk, placement, state_shardings, batch_shardings, streamed: bool):
  """``run_chunk`` jitted with the state donated; on a mesh with the state's
  shardings in and out (the logs replicated)."""
  if placement is None:
    return jax.jit(run_chunk, donate_argnums=0)
  in_shardings = (state_shardings, placement.replicated)
  in_shardings += (batch_shardings,) if streamed else ()
  return jax.jit(run_chunk, donate_argnums=0, in_shardings=in_shardings,
                 out_shardings=(state_shardings, placement.replicated))


def build_eval(*, graphdef, loss_terms_fn: Callable, trace_counts: dict, placement=None,
               metrics_fn: Callable | None = None):
  """Returns jitted ``evaluate(params, rest, data, weights) -> dict``: the loss,
  every ``<term>_loss`` and the problem's evaluation-only ``metrics_fn(model,
  data)`` (the model call they share is computed once: XLA removes the copy)."""
  loss_fn = make_loss_fn(graphdef, loss_terms_fn)

  def evaluate(params, rest, data, weights):
    trace_counts["eval"] = trace_counts.get("eval", 0) + 1
    data = data if placement is None else placement.constrain(data)
    loss, (terms, _) = loss_fn(params, rest, data, weights)
    metrics = {} if metrics_fn is None else metrics_fn(modes.merge(graphdef, params, rest), data)
    return {"loss": loss, **{f"{t}_loss": v for t, v in terms.items()}, **metrics}
  return jit_replicated(evaluate, placement)


def build_predict(*, graphdef, predict_fn: Callable, trace_counts: dict, placement=None):
  """Returns jitted ``predict(params, rest, x) -> outputs``."""
  def predict(params, rest, x):
    trace_counts["predict"] = trace_counts.get("predict", 0) + 1
    x = x if placement is None else placement.constrain(x)
    return predict_fn(modes.merge(graphdef, params, rest), x)
  return jit_replicated(predict, placement)
