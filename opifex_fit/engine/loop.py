"""The event loop behind ``Learner.fit`` (its specification is the docstring
of ``opifex_fit.learner``).

``run_loop`` reads as the specification's steps: ``_prepare_fit`` (1: every
argument checked, the data placed), the callbacks' setup (3-4),
``_plan_chunks`` (5: the triggers and the ``ChunkPlan``), ``_run_chunks``
(6: the loop, ``_boundary`` saying what is due where and ``boundary.process``
running it), ``on_exception`` (7) and ``_finish`` (8).

The loop takes the callbacks sorted and with their defaults (the learner
adds them): it knows callbacks only by their hooks and attributes
(``trigger``, ``is_due``, ``in_step``, ``observer``, ``runs_last``,
``requires_device_data``, ``monitor``, ``log_names``), never by class.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from opifex_fit import validators
from opifex_fit.engine import chunk
from opifex_fit.engine import evaluation, step_hooks, triggers
from opifex_fit.engine.boundary import Boundary, overrides, process
from opifex_fit.engine import plan
from opifex_fit.engine.state import scalar
from opifex_fit.inputs import batching, prefetch, streaming


def available_logs(learner, has_validation: bool) -> list[str]:
  """Every name ``learner.logs`` can hold in this fit (for monitor checks)."""
  terms = learner.term_names()
  train = ["loss", *[f"{t}_loss" for t in terms]]
  names = train + ["lr_scale", "skipped_updates"]
  names += ["lr"] if chunk.learning_rate_of(learner.state.opt_state) is not None else []
  names += [f"{t}_weight" for t in terms] if len(terms) > 1 else []
  if has_validation:
    names += [f"val_{n}" for n in train + list(learner.problem.metric_names())]
  for c in learner.callbacks:
    names += list(c.log_names(learner))
  return names


def _check_monitors(learner, has_validation: bool) -> None:
  names = available_logs(learner, has_validation)
  for c in learner.callbacks:
    monitor = getattr(c, "monitor", None)
    if monitor is not None and monitor not in names:
      hint = " (val_* names need validation_data)" if monitor.startswith("val_") \
          and not has_validation else ""
      raise ValueError(f"{type(c).__name__}: monitor={monitor!r} is not a logged "
                       f"metric{hint}; available: {sorted(names)}")


def _validation(learner, validation_data, validation_every):
  """A function computing the validation logs (None without validation data);
  arrays are checked and placed once, streams are evaluated batch by batch."""
  if validation_data is None:
    if validation_every is not None:
      raise ValueError(f"validation_every={validation_every} needs validation_data; got None")
    return None
  stream = streaming.as_stream(validation_data)
  if stream is not None:
    if isinstance(stream, streaming.Batches) and stream.one_shot:
      raise TypeError("validation_data: a one-shot iterator cannot be evaluated more than "
                      "once; pass a re-iterable (a list, a DataLoader) or a HostDataset")
    return lambda: evaluation.evaluate(learner, stream)
  val = learner.place(learner.problem.prepare(learner.model, validation_data, "validation_data"))
  return lambda: evaluation.evaluate_prepared(learner, val)


def _refuse_streamed(callbacks, stream) -> None:
  """Callbacks that read ``learner.data`` cannot run on streamed data (it is
  never on the device): refused before anything runs."""
  needy = [type(c).__name__ for c in callbacks if c.requires_device_data]
  if stream is not None and needy:
    raise ValueError(f"callbacks {needy} need the training data on the device "
                     f"(learner.data), but this fit streams it from a {type(stream).__name__};"
                     " pass arrays (moved to the device once) or leave these callbacks out")


@dataclasses.dataclass
class _Fit:
  """One fit's plan: what ``_prepare_fit`` checked, ``_plan_chunks`` decided."""

  callbacks: list
  data: Any                     # arrays on the device, or a stream's first batch
  stream: Any                   # None: the data lives in the state
  n: int | None                 # examples (None: unknown for a stream)
  batch_size: int | None
  spe: int | None               # steps per epoch
  total: int
  validate: Callable | None
  validation_every: int | None
  steps_per_execution: Any
  hooks: tuple = ()
  target: int = 0
  plan: Any = None              # the ChunkPlan: chunk lengths from the triggers
  buffer: int = 0               # a streamed chunk's fixed number of batch rows
  val_trigger: Any = None       # when validation is due (None: no validation)
  step_cbs: list = dataclasses.field(default_factory=list)
  epoch_cbs: list = dataclasses.field(default_factory=list)
  begin_cbs: list = dataclasses.field(default_factory=list)

  @property
  def minibatched(self) -> bool:
    return self.batch_size is not None or self.stream is not None


def _prepare_fit(learner, data, *, steps, epochs, batch_size, validation_data,
                 validation_every, callbacks, steps_per_execution) -> _Fit:
  """1. Every argument checked and the data placed, before anything compiles."""
  problem = learner.problem
  if data is None:
    data = problem.default_data(learner.seed)
  stream = streaming.as_stream(data)
  _refuse_streamed(callbacks, stream)
  if stream is None:
    data = problem.prepare(learner.model, data, "data")
    n = problem.num_examples(data)
    batch_size = validators.check_batch_size(batch_size, n)
    spe = batching.steps_per_epoch(n, batch_size)
  else:
    data, n, batch_size, spe = streaming.check(learner, stream, batch_size)
  total = plan.total_steps(steps, epochs, spe)
  validation_every = validators.positive_int(validation_every, "validation_every")
  validate = _validation(learner, validation_data, validation_every)
  plan.chunk_cap(steps_per_execution)  # a bad cap raises before anything runs
  fit = _Fit(callbacks, data, stream, n, batch_size, spe, total, validate, validation_every,
             steps_per_execution)
  perm = jnp.zeros((spe * batch_size if batch_size and not stream else 0,), jnp.int32)
  learner.state = learner.state.replace(data=None if stream else data,
                                        batch_pos=scalar(0, jnp.int32), perm=perm)
  # Step hooks and their device state exist before on_fit_begin, so a
  # checkpoint restores into a state of the saved structure.
  fit.hooks = learner.step_hooks = step_hooks.collect(callbacks, learner)
  learner.state = learner.state.replace(
      hooks=step_hooks.initial_states(fit.hooks, learner, learner.state.hooks))
  fit.target = learner.target_step = learner.step + total
  learner.callbacks, learner.stop_training = callbacks, False
  return fit


def _epoch_trigger(learner, fit: _Fit):
  """Epoch ends as a trigger when something happens there (validation once
  per epoch, an ``on_epoch_end``/``on_epoch_begin`` hook): then Keras epochs
  end exactly at chunk boundaries. None for full batch (one step is one
  epoch), endless streams and fits where nothing listens to epochs (their
  chunks need not stop there)."""
  if not fit.minibatched or not fit.spe:
    return None
  per_epoch_validation = fit.validate is not None and fit.validation_every is None
  if not (per_epoch_validation or fit.epoch_cbs or fit.begin_cbs):
    return None
  return triggers.Every(fit.spe, offset=learner.step - int(learner.state.batch_pos))


def _plan_chunks(learner, fit: _Fit) -> None:
  """5. The chunk plan: from each boundary to the nearest due trigger (the
  callbacks', validation, epoch ends, the fit's end), at most the cap."""
  cbs = fit.callbacks
  fit.epoch_cbs = [c for c in cbs if overrides(c, "on_epoch_end")]
  fit.begin_cbs = [c for c in cbs if overrides(c, "on_epoch_begin")]
  fit.step_cbs = [c for c in cbs if overrides(c, "on_step_end")]
  epoch_ends = _epoch_trigger(learner, fit)
  if fit.validate is not None:  # per epoch for minibatches; per chunk for full batch
    fit.val_trigger = triggers.Every(fit.validation_every) if fit.validation_every \
        else epoch_ends or triggers.Always()
  wanted = [c.trigger for c in cbs if not c.in_step] + [fit.val_trigger, epoch_ends]
  wanted = [t for t in wanted if t is not None]
  for t in wanted:
    t.start(learner.step)
  limit = plan.MAX_CHUNK if fit.stream is None else streaming.chunk_cap(fit.stream, fit.data)
  fit.plan = plan.ChunkPlan(wanted, fit.target, plan.chunk_cap(fit.steps_per_execution,
                                                                       limit))
  fit.buffer = fit.plan.longest(learner.step) if fit.stream is not None else 0


def _chunk_fn(learner, fit: _Fit) -> Callable:
  """The jitted ``run_chunk(state, n[, batches])``, cached per data layout,
  step hooks and optimizer (never per length: ``n`` is traced)."""
  placement, stream, data = learner.placement, fit.stream, fit.data
  batch_shardings = None if stream is None or placement is None else \
      jax.tree.map(lambda a: prefetch.stacked_sharding(placement, a[None]), data)
  key = ("chunk", fit.buffer, fit.batch_size, fit.spe, fit.n, stream is not None, fit.hooks,
         learner.optimizer)
  if placement is not None:  # the shardings are baked into the compiled chunk
    key += (placement.layout(learner.state.data if stream is None else data),)
  return learner.cached(key, lambda: chunk.build_chunk(
      graphdef=learner.graphdef, loss_terms_fn=learner.loss_terms_fn,
      take=learner.problem.take, optimizer=learner.optimizer,
      batch_size=fit.batch_size, num_examples=fit.n, steps_per_epoch=fit.spe,
      term_names=learner.term_names(), trace_counts=learner.trace_counts, placement=placement,
      state_shardings=placement and placement.state_shardings(learner.state),
      streamed=stream is not None, batch_shardings=batch_shardings, hooks=fit.hooks))


def _boundary(learner, fit: _Fit, logs, epoch_ended: bool) -> Boundary:
  """What is due at the boundary ``learner.step`` just reached."""
  step = learner.step
  val_due = fit.val_trigger is not None and fit.val_trigger.due(step)
  return Boundary(step, learner.epoch, logs, [c for c in fit.step_cbs if c.is_due(step)],
                  val_due, fit.epoch_cbs if epoch_ended else [],
                  fit.begin_cbs if epoch_ended else [])


def _run_chunks(learner, fit: _Fit, feed) -> None:
  """6. The loop. A boundary where only observers (HistoryRecorder,
  ProgressBar, loggers) are due is processed after the next chunk is
  dispatched, so the device never waits for the host; any other boundary
  syncs first."""
  first_pos = int(learner.state.batch_pos)
  start_step, start_epoch = learner.step, learner.epoch

  def continuing():
    return learner.step < fit.target and not learner.stop_training

  for c in fit.begin_cbs:
    c.on_epoch_begin(learner)
  pending = None
  while continuing():
    if feed is None:
      n_steps, batches = fit.plan.next_length(learner.step), ()
    else:
      n_steps, stacked = feed.get()
      batches = (stacked,)
    # The function is looked up per chunk: a callback may switch the
    # optimizer or grow the model (each compiles once).
    state, logs = _chunk_fn(learner, fit)(learner.state, n_steps, *batches)
    learner.adopt_state(state)
    if pending is not None:
      process(learner, pending, fit.validate, lambda: True, deferred=True)
      pending = None
    learner.step += n_steps
    epoch = start_epoch + ((first_pos + learner.step - start_step) // fit.spe if fit.spe else 0)
    epoch_ended, learner.epoch = epoch > learner.epoch, epoch
    b = _boundary(learner, fit, logs, epoch_ended)
    if b.is_empty():
      continue
    if b.only_observers() and continuing():
      pending = b
    else:
      process(learner, b, fit.validate, continuing)
  if pending is not None:
    process(learner, pending, fit.validate, continuing, deferred=True)


def _start_feed(learner, fit: _Fit):
  """The background producer of a streamed fit's chunks (None: data on the device)."""
  if fit.stream is None:
    return None
  return streaming.feed(learner, fit.stream, fit.data, batch_size=fit.batch_size, spe=fit.spe,
                        plan=fit.plan.lengths(learner.step), buffer=fit.buffer,
                        pos=int(learner.state.batch_pos))


def _finish(learner, callbacks, feed) -> None:
  """8. on_fit_end always runs, for every callback, even if one of them fails."""
  if feed is not None:
    feed.close()
  errors = []
  for c in callbacks:
    try:
      c.on_fit_end(learner)
    except Exception as e:  # noqa: BLE001 - re-raised below after the others ran
      errors.append(e)
  learner.model  # noqa: B018 - syncs the user's module with the final weights
  if errors:
    raise errors[0]


def run_loop(learner, data, *, steps, epochs, batch_size, validation_data,
             validation_every, callbacks, steps_per_execution):
  """``Learner.fit`` with ``callbacks`` already sorted, the defaults included."""
  fit = _prepare_fit(learner, data, steps=steps, epochs=epochs, batch_size=batch_size,
                     validation_data=validation_data, validation_every=validation_every,
                     callbacks=callbacks, steps_per_execution=steps_per_execution)
  feed = None
  try:
    # 3-4. Callbacks set up (and may restore a checkpoint) before compiling.
    for c in callbacks:
      c.on_fit_begin(learner)
    _check_monitors(learner, fit.validate is not None)
    learner.step, learner.epoch = int(learner.state.step), int(learner.state.epoch)
    learner.target_step = fit.target
    _plan_chunks(learner, fit)
    feed = _start_feed(learner, fit)
    _run_chunks(learner, fit, feed)
  except BaseException as e:
    # 7. Every callback hears of the failure (to save, to clean up); then it propagates.
    for c in callbacks:
      c.on_exception(learner, e)
    raise
  finally:
    _finish(learner, callbacks, feed)
  return learner.history
