"""The callback base class and the ordering rule every callback follows.

A callback is a small object with hooks. The learner calls each hook on every
callback in ascending ``order`` (stable for ties), always at a chunk boundary:
the device is idle, ``learner.logs`` holds fresh values, and anything the hook
writes to the learner (``loss_weights``, ``lr_scale``, ``data``,
``stop_training``) takes effect for the next chunk without recompiling.

Example:
  >>> import opifex_fit as of
  >>> from opifex_fit import callbacks as cb
  >>> class PrintLoss(cb.Callback):
  ...   every = 100            # on_step_end is due every 100 optimizer steps
  ...   def on_step_end(self, learner):
  ...     print(learner.step, learner.logs["loss"])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from opifex_fit.engine.triggers import Always, Every, Trigger

# Default orders (DESIGN section 2): guards first, loggers last, so a checkpoint
# always stores what loss balancing and early stopping just decided.
ORDER_GUARD = -100
ORDER_PHYSICS = 0
ORDER_METRICS = 10
ORDER_EARLY_STOPPING = 20
ORDER_LR_CONTROL = 30
ORDER_CHECKPOINT = 50
ORDER_LOGGER = 90


def _does_nothing(hook):
  """Marks a base hook that does nothing: the loop skips callbacks that do not
  override it (``engine.boundary.overrides``) without knowing this class."""
  hook.does_nothing = True
  return hook


class Callback:
  """Base class: override the hooks you need; all default to doing nothing.

  Attributes:
    order: lower runs first at every event.
    every: the optimizer-step cadence at which ``on_step_end`` is due, or None
      for "every chunk boundary". A chunk always ends at the next step where
      some callback is due, so cadences need not divide each other.
      ``trigger`` generalizes it (steps, wall-clock, combinations:
      ``opifex_fit.engine.triggers``).
    requires_device_data: True if the callback reads ``learner.data`` (the
      training data on the device); ``fit`` then refuses streamed data
      (``HostDataset``, iterables of batches) before anything runs.
    in_step: True if ``every`` is a cadence inside the jitted step (its
      ``step_hook`` acts at those steps): it then sets no chunk boundaries.
    observer: True if the callback only reads ``step``, ``epoch``, ``logs``
      and ``history`` (History, CSVLogger, the progress bar): a boundary
      where only observers are due runs after the next chunk is dispatched,
      and they get a frozen view of their boundary (``engine.boundary``):
      reading ``learner.state``/``model``/``data`` there raises.
    runs_last: True if ``on_step_end`` persists the boundary (Checkpoint): it
      runs after every other hook of the boundary (validation and epoch ends
      included), and also at the boundary where the fit stops.
    changes_structure: True if ``load_state_dict`` changes the TrainState's
      structure (SwitchOptimizer, Multilevel): a Checkpoint resume loads this
      callback's state before the saved TrainState, so the structures match.
    status: the callback's persistent host state, one dataclass instance
      (None: nothing to persist). ``state_dict`` is ``dataclasses.asdict`` of
      it and ``load_state_dict`` builds a new one from the dict, so a callback
      whose state is ``status`` writes neither; ``status_field`` exposes a
      field as an attribute.
  """

  order: int = ORDER_PHYSICS
  every: int | None = None
  requires_device_data: bool = False
  in_step: bool = False
  observer: bool = False
  runs_last: bool = False
  changes_structure: bool = False
  status: Any = None

  # -- events ---------------------------------------------------------------
  @_does_nothing
  def on_fit_begin(self, learner) -> None:
    """Before compiling: register loss terms or metrics here."""

  @_does_nothing
  def on_epoch_begin(self, learner) -> None:
    """At the first chunk boundary of an epoch."""

  @_does_nothing
  def on_step_end(self, learner) -> None:
    """At a chunk boundary where ``learner.step % every == 0``."""

  @_does_nothing
  def on_epoch_end(self, learner) -> None:
    """At the chunk boundary where one or more epochs just completed."""

  @_does_nothing
  def on_validation_end(self, learner) -> None:
    """After validation; ``learner.logs`` holds the ``val_*`` entries."""

  @_does_nothing
  def on_fit_end(self, learner) -> None:
    """Always runs, also after an exception (called from ``finally``)."""

  @_does_nothing
  def on_exception(self, learner, exception: BaseException) -> None:
    """When the fit raised; runs before ``on_fit_end``."""

  # -- what the learner asks ------------------------------------------------
  def log_names(self, learner) -> Iterable[str]:
    """Names this callback adds to ``learner.logs`` (for monitor checks)."""
    return ()

  def step_hook(self, learner):
    """A ``opifex_fit.engine.step_hooks.StepHook`` to run inside every training
    step, or None. Asked once per fit, before ``on_fit_begin``; return the
    same object for the same learner, so a later fit reuses the compiled chunk."""
    return None

  def state_dict(self) -> dict[str, Any]:
    """JSON-able state saved in every checkpoint (default: the ``status`` fields)."""
    return {} if self.status is None else dataclasses.asdict(self.status)

  def load_state_dict(self, state: dict[str, Any]) -> None:
    """Restores what ``state_dict`` returned (default: a new ``status``)."""
    if self.status is not None:
      self.status = load_status(type(self.status), state, type(self).__name__)

  # Device arrays that belong in checkpoints too (EarlyStopping's best weights):
  # Checkpoint writes ``device_state()`` next to the TrainState (Orbax) and, on
  # a resume, reads it into the structure of ``device_state_like(learner)``
  # and hands it to ``load_device_state`` (after ``load_state_dict``).
  def device_state(self) -> Any:
    """A pytree of arrays to checkpoint, or None (nothing to save now)."""
    return None

  def device_state_like(self, learner) -> Any:
    """The structure ``device_state`` has in this fit, or None (never has one)."""
    return None

  def load_device_state(self, tree) -> None:
    """Restores what ``device_state`` returned."""

  @property
  def trigger(self) -> Trigger:
    """When ``on_step_end`` is due (``opifex_fit.engine.triggers``): set one
    (``self.trigger = AtSteps(500)``), or by default ``Every(every)`` (every
    chunk boundary when ``every`` is None). The loop plans its chunk
    boundaries from it, so a chunk always ends where the callback is due."""
    trigger = self.__dict__.get("_trigger")
    if trigger is not None:
      return trigger
    return Always() if self.every is None else Every(self.every)

  @trigger.setter
  def trigger(self, value: Trigger):
    if not isinstance(value, Trigger):
      raise TypeError(f"trigger must be an opifex_fit.engine.triggers.Trigger (Every, AtSteps,"
                      f" AnyOf); got {value!r}")
    self._trigger = value

  def is_due(self, step: int) -> bool:
    """Whether ``on_step_end`` is due at ``step`` (default: ``trigger.due``)."""
    return self.trigger.due(step)

  def __repr__(self) -> str:
    return f"{type(self).__name__}(order={self.order}, every={self.every})"


def check_every(value, name: str = "every", allow_none: bool = True) -> int | None:
  """Validates a step cadence and returns it as int (or None)."""
  if value is None and allow_none:
    return None
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise ValueError(f"{name} must be a positive int number of steps"
                     f"{' or None' if allow_none else ''}; got {value!r}")
  return value


def status_field(name: str) -> property:
  """An attribute that reads and writes ``self.status.<name>`` (a callback
  whose state is one dataclass ``status`` keeps its fields as attributes)."""
  return property(lambda self: getattr(self.status, name),
                  lambda self, value: setattr(self.status, name, value))


def load_status(cls, state, who: str = "callback"):
  """A ``cls`` dataclass from ``state`` (a ``state_dict``): missing fields take
  their defaults; an unknown key raises ValueError naming the fields.

  >>> import dataclasses
  >>> @dataclasses.dataclass
  ... class Counter:
  ...   count: int = 0
  ...   best: float | None = None
  >>> load_status(Counter, {"count": 3})
  Counter(count=3, best=None)
  """
  if not isinstance(state, dict):
    raise TypeError(f"{who}.load_state_dict expects a dict (a state_dict()); got {state!r}")
  names = [f.name for f in dataclasses.fields(cls)]
  unknown = sorted(set(state) - set(names))
  if unknown:
    raise ValueError(f"{who}.load_state_dict: unknown key(s) {unknown}; the state has the"
                     f" fields {names}")
  return cls(**{k: state[k] for k in names if k in state})


def sort_callbacks(callbacks) -> list[Callback]:
  """Validates and sorts by ``order`` (stable: equal orders keep user order)."""
  out = []
  for i, c in enumerate(callbacks):
    if not isinstance(c, Callback):
      raise TypeError(f"callbacks[{i}] must be an opifex_fit.callbacks.Callback;"
                      f" got {c!r} of type {type(c).__name__}")
    out.append(c)
  return sorted(out, key=lambda c: c.order)

