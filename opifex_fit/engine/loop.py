"""The event loop behind ``Learner.fit`` (its specification is the docstring
of ``opifex_fit.learner``)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from opifex_fit.inputs import batching
from opifex_fit import validators
from opifex_fit.engine import plan as data_lib
from opifex_fit.inputs import prefetch, streaming
from opifex_fit.engine import chunk as step_lib
from opifex_fit.engine import evaluation, step_hooks
from opifex_fit.callbacks.base import Callback, sort_callbacks
from opifex_fit.engine.state import scalar


def available_logs(learner, has_validation: bool) -> list[str]:
  """Every name ``learner.logs`` can hold in this fit (for monitor checks)."""
  terms = learner.term_names()
  train = ["loss", *[f"{t}_loss" for t in terms]]
  names = train + ["lr_scale", "skipped_updates"]
  names += ["lr"] if step_lib.learning_rate_of(learner.state.opt_state) is not None else []
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


def _default_callbacks(callbacks, verbose) -> list[Callback]:
  from opifex_fit.callbacks.history_recorder import HistoryRecorder
  from opifex_fit.callbacks.progress_bar import ProgressBar
  if isinstance(callbacks, Callback) or not hasattr(callbacks, "__iter__"):
    raise TypeError(f"callbacks must be a list of Callback objects; got {callbacks!r}")
  callbacks = list(callbacks)
  sort_callbacks(callbacks)  # type-checks before anything is added
  if not any(isinstance(c, HistoryRecorder) for c in callbacks):
    callbacks.append(HistoryRecorder())
  if verbose and not any(isinstance(c, ProgressBar) for c in callbacks):
    callbacks.append(ProgressBar(mode="bar" if verbose == 1 else "lines"))
  return sort_callbacks(callbacks)


def overrides(callback, hook: str) -> bool:
  """Whether ``callback`` does something at ``hook`` (base hooks do nothing)."""
  fn = getattr(callback, hook)  # instance attributes count (LambdaCallback)
  return getattr(fn, "__func__", fn) is not getattr(Callback, hook)


class Boundary:
  """What is due at one chunk boundary."""

  def __init__(self, step, epoch, logs, step_cbs, val_due, epoch_cbs, begin_cbs):
    self.step, self.epoch, self.logs = step, epoch, logs
    self.step_cbs, self.val_due, self.epoch_cbs, self.begin_cbs = \
        step_cbs, val_due, epoch_cbs, begin_cbs

  def is_empty(self) -> bool:
    return not (self.step_cbs or self.val_due or self.epoch_cbs or self.begin_cbs)

  def only_observers(self) -> bool:
    """Only callbacks that merely read logs are due: safe to run them late."""
    return not self.val_due and all(
        getattr(c, "observer", False) for c in self.step_cbs + self.epoch_cbs + self.begin_cbs)


def _process(learner, b: Boundary, validate, stopping_check) -> None:
  """Runs the hooks of one boundary (with ``learner.step`` as of that boundary)."""
  now_step, now_epoch = learner.step, learner.epoch
  learner.step, learner.epoch = b.step, b.epoch
  learner.logs = {k: float(v) for k, v in jax.device_get(b.logs).items()}
  if b.val_due:
    # The whole validation set in one call: one compile, no remainder batch.
    val_logs = jax.device_get(validate())
    learner.logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
  # Callbacks that persist the boundary (Checkpoint: ``runs_last``) see every
  # other callback's state after its validation and epoch hooks too.
  last = [c for c in b.step_cbs if getattr(c, "runs_last", False)]
  for c in b.step_cbs:
    if c not in last:
      c.on_step_end(learner)
  if b.val_due:
    for c in learner.callbacks:
      c.on_validation_end(learner)
  for c in b.epoch_cbs:
    c.on_epoch_end(learner)
  if learner.stop_training:
    # The fit ends at this boundary: callbacks due only now that the stop is
    # known (Checkpoint's final save) run before on_fit_end changes the state.
    last += [c for c in learner.callbacks if c not in b.step_cbs and c not in last
             and overrides(c, "on_step_end") and c.is_due(b.step)]
  for c in last:
    c.on_step_end(learner)
  if stopping_check():
    for c in b.begin_cbs:
      c.on_epoch_begin(learner)
  learner.step, learner.epoch = now_step, now_epoch


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
  val = learner.place(learner.problem.prepare(learner.model, validation_data,
                                               "validation_data"))
  return lambda: evaluation.evaluate_prepared(learner, val)


def _refuse_streamed(callbacks, stream) -> None:
  """Callbacks that read ``learner.data`` cannot run on streamed data (it is
  never on the device): refused before anything runs."""
  needy = [type(c).__name__ for c in callbacks if getattr(c, "requires_device_data", False)]
  if stream is not None and needy:
    raise ValueError(f"callbacks {needy} need the training data on the device "
                     f"(learner.data), but this fit streams it from a {type(stream).__name__};"
                     " pass arrays (moved to the device once) or leave these callbacks out")


def _cadences(callbacks, validation_every, validation_epoch, epoch_length):
  """Every step cadence the chunk length must line up with, as ``(what,
  steps, strict)``; ``strict`` ones move if a chunk does not end on them
  (epoch events only report late: at the next boundary)."""
  out = [(f"{type(c).__name__}(every={c.every})", c.every, True) for c in callbacks
         if c.every and not c.in_step]
  if validation_every:
    out.append((f"validation_every={validation_every}", validation_every, True))
  elif validation_epoch:  # an epoch event: reported at the first boundary after it
    out.append((f"validation once per epoch ({validation_epoch} steps)", validation_epoch, False))
  if epoch_length:
    out.append((f"the epoch length ({epoch_length} steps)", epoch_length, False))
  return out


def _check_explicit_chunk(steps_per_execution, cadences) -> None:
  """An explicit chunk length must divide every strict cadence: a callback
  that is due in the middle of a chunk would otherwise silently fire later."""
  if steps_per_execution == "auto":
    return
  broken = [what for what, every, strict in cadences if strict and every % steps_per_execution]
  if broken:
    fits = math.gcd(*[every for _, every, strict in cadences if strict])
    raise ValueError(f"steps_per_execution={steps_per_execution} does not divide the cadences "
                     f"{broken}: they would fire late; pass a divisor of all of them (e.g. "
                     f"{fits}) or steps_per_execution='auto'")


def run_loop(learner, data, *, steps, epochs, batch_size, validation_data,
             validation_every, callbacks, verbose, steps_per_execution):
  # 1. Arguments, all before anything compiles.
  if verbose not in (0, 1, 2):
    raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
  callbacks = _default_callbacks(callbacks, verbose)
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
  total = data_lib.total_steps(steps, epochs, spe)
  validation_every = validators.positive_int(validation_every, "validation_every")
  validate = _validation(learner, validation_data, validation_every)
  if steps_per_execution != "auto":
    validators.positive_int(steps_per_execution, "steps_per_execution", allow_none=False)

  minibatched = batch_size is not None or stream is not None
  perm = jnp.zeros((spe * batch_size if batch_size and not stream else 0,), jnp.int32)
  learner.state = learner.state.replace(data=None if stream else data,
                                        batch_pos=scalar(0, jnp.int32), perm=perm)
  # Step hooks and their device state exist before on_fit_begin, so a
  # checkpoint restores into a state of the saved structure.
  hooks = step_hooks.collect(callbacks, learner)
  learner.state = learner.state.replace(
      hooks=step_hooks.initial_states(hooks, learner, learner.state.hooks))
  target = learner.step + total
  learner.target_step = target
  learner.callbacks = callbacks
  learner.stop_training = False
  feed = None
  try:
    # 3-4. Callbacks set up (and may restore a checkpoint) before compiling.
    for c in callbacks:
      c.on_fit_begin(learner)
    _check_monitors(learner, validate is not None)
    learner.step, learner.epoch = int(learner.state.step), int(learner.state.epoch)
    learner.target_step = target
    first_pos = int(learner.state.batch_pos)
    start_step, start_epoch = learner.step, learner.epoch
    # 5. The chunk length lines every cadence up with chunk boundaries (epoch
    # ends only when some callback listens to them).
    epoch_cbs = [c for c in callbacks if overrides(c, "on_epoch_end")]
    begin_cbs = [c for c in callbacks if overrides(c, "on_epoch_begin")]
    step_cbs = [c for c in callbacks if overrides(c, "on_step_end")]
    cadences = _cadences(callbacks, validation_every, validate is not None and minibatched
                         and spe, spe if minibatched and (epoch_cbs or begin_cbs) else None)
    cap = data_lib.MAX_CHUNK if stream is None else streaming.chunk_cap(stream, data)
    chunk = data_lib.chunk_length([c for _, c, _ in cadences], total, steps_per_execution,
                                  cap=cap)
    _check_explicit_chunk(steps_per_execution, cadences)
    val_per_epoch = bool(validate is not None and validation_every is None and minibatched
                         and spe)
    if validate is not None and validation_every is None and not val_per_epoch:
      validation_every = chunk

    placement = learner.placement
    stacked_shardings = None if stream is None or placement is None else \
        jax.tree.map(lambda a: prefetch.stacked_sharding(placement, a[None]), data)

    def chunk_fn(n_steps):
      key = ("chunk", n_steps, batch_size, spe, n, stream is not None, hooks, learner.optimizer)
      if placement is not None:  # the shardings are baked into the compiled chunk
        key += (placement.layout(learner.state.data if stream is None else data),)
      return learner.cached(key, lambda: step_lib.build_chunk(
          graphdef=learner.graphdef, loss_terms_fn=learner.loss_terms_fn, take=problem.take,
          optimizer=learner.optimizer, n_steps=n_steps, batch_size=batch_size,
          num_examples=n, steps_per_epoch=spe, term_names=learner.term_names(),
          trace_counts=learner.trace_counts, placement=placement,
          state_shardings=placement and placement.state_shardings(learner.state),
          streamed=stream is not None, batch_shardings=stacked_shardings, hooks=hooks))

    def continuing():
      return learner.step < target and not learner.stop_training

    # 6. The loop. A boundary where only observers (HistoryRecorder, ProgressBar,
    # loggers) are due is processed after the next chunk is dispatched, so the
    # device never waits for the host; any other boundary syncs first.
    if stream is not None:
      feed = streaming.feed(learner, stream, data, batch_size=batch_size, spe=spe,
                            plan=data_lib.chunk_plan(learner.step, chunk, target),
                            pos=first_pos)
    for c in begin_cbs:
      c.on_epoch_begin(learner)
    pending = None
    while continuing():
      n_steps = data_lib.chunk_steps(learner.step, chunk, target)
      batches = () if feed is None else (feed.get(n_steps),)
      state, logs = chunk_fn(n_steps)(learner.state, *batches)
      learner.adopt_state(state)
      if pending is not None:
        _process(learner, pending, validate, lambda: True)
        pending = None
      learner.step += n_steps
      done = learner.step - start_step
      epoch = start_epoch + ((first_pos + done) // spe if spe else 0)
      epoch_ended, learner.epoch = epoch > learner.epoch, epoch
      b = Boundary(learner.step, learner.epoch, logs,
                   [c for c in step_cbs if c.is_due(learner.step)],
                   validate is not None and (epoch_ended if val_per_epoch
                                             else learner.step % validation_every == 0),
                   epoch_cbs if epoch_ended else [], begin_cbs if epoch_ended else [])
      if b.is_empty():
        continue
      if b.only_observers() and continuing():
        pending = b
      else:
        _process(learner, b, validate, continuing)
    if pending is not None:
      _process(learner, pending, validate, continuing)
  except BaseException as e:
    # 7. Every callback hears of the failure (to save, to clean up); then it propagates.
    for c in callbacks:
      c.on_exception(learner, e)
    raise
  finally:
    if feed is not None:
      feed.close()
    # 8. on_fit_end always runs, for every callback, even if one of them fails.
    errors = []
    for c in callbacks:
      try:
        c.on_fit_end(learner)
      except Exception as e:  # noqa: BLE001 - re-raised below after the others ran
        errors.append(e)
    learner.model  # noqa: B018 - syncs the user's module with the final weights
    if errors:
      raise errors[0]
  return learner.history
