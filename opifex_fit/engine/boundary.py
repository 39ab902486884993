"""One chunk boundary: what is due there, and running its hooks.

The loop (``engine.loop``) builds a ``Boundary`` after each chunk. A boundary
where only observers are due (``Callback.observer``: History, CSVLogger,
TensorBoard without histograms, the progress bar) runs after the next chunk
is dispatched, so the device never waits for the host. Those observers get an
``ObserverView``: the frozen step, epoch and logs of their boundary, and the
learner for everything else but the training state, which by then belongs to
the chunk in flight. Nothing is rewound on the learner.

Example:
  >>> from types import SimpleNamespace
  >>> learner = SimpleNamespace(step=200, epoch=2, history=[], state="in flight")
  >>> view = ObserverView(learner, Boundary(100, 1, {"loss": 0.5}, [], False, [], []))
  >>> view.step, view.logs["loss"], learner.step
  (100, 0.5, 200)
"""

from __future__ import annotations

import jax

# What a deferred observer may not read: it belongs to the next chunk by then.
IN_FLIGHT = ("state", "model", "data", "params")


def overrides(callback, hook: str) -> bool:
  """Whether ``callback`` does something at ``hook``: the base class marks its
  empty hooks ``does_nothing`` (instance attributes count: LambdaCallback)."""
  fn = getattr(callback, hook)
  return not getattr(getattr(fn, "__func__", fn), "does_nothing", False)


class Boundary:
  """What is due at one chunk boundary (``logs`` still on the device)."""

  def __init__(self, step, epoch, logs, step_cbs, val_due, epoch_cbs, begin_cbs):
    self.step, self.epoch, self.logs = step, epoch, logs
    self.step_cbs, self.val_due, self.epoch_cbs, self.begin_cbs = \
        step_cbs, val_due, epoch_cbs, begin_cbs

  def is_empty(self) -> bool:
    return not (self.step_cbs or self.val_due or self.epoch_cbs or self.begin_cbs)

  def only_observers(self) -> bool:
    """Only callbacks that merely read logs are due: safe to run them late."""
    return not self.val_due and all(
        c.observer for c in self.step_cbs + self.epoch_cbs + self.begin_cbs)


class ObserverView:
  """The learner as a deferred observer sees it: ``step``, ``epoch`` and
  ``logs`` of its boundary; other attributes are the learner's, except the
  training state of the chunk in flight (AttributeError)."""

  def __init__(self, learner, boundary: Boundary):
    vars(self).update(learner=learner, step=boundary.step, epoch=boundary.epoch,
                      logs=boundary.logs)

  def __getattr__(self, name):
    if name in IN_FLIGHT:
      raise AttributeError(f"an observer callback (observer=True) runs while the next chunk "
                           f"trains: learner.{name} is not that of step {self.step}; read "
                           "learner.logs/history, or set observer=False")
    return getattr(vars(self)["learner"], name)

  def __setattr__(self, name, value):
    setattr(vars(self)["learner"], name, value)


def process(learner, b: Boundary, validate, continuing, deferred: bool = False) -> None:
  """Runs the hooks of one boundary; ``deferred`` observers get an ``ObserverView``."""
  b.logs = {k: float(v) for k, v in jax.device_get(b.logs).items()}
  learner.logs = dict(b.logs)
  if b.val_due:
    # The whole validation set in one call: one compile, no remainder batch.
    val_logs = jax.device_get(validate())
    learner.logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
  target = ObserverView(learner, b) if deferred else learner
  # Callbacks that persist the boundary (Checkpoint: ``runs_last``) see every
  # other callback's state after its validation and epoch hooks too.
  last = [c for c in b.step_cbs if c.runs_last]
  for c in b.step_cbs:
    if c not in last:
      c.on_step_end(target)
  if b.val_due:
    for c in learner.callbacks:
      c.on_validation_end(learner)
  for c in b.epoch_cbs:
    c.on_epoch_end(target)
  if learner.stop_training:
    # The fit ends at this boundary: callbacks due only now that the stop is
    # known (Checkpoint's final save) run before on_fit_end changes the state.
    last += [c for c in learner.callbacks if c not in b.step_cbs and c not in last
             and overrides(c, "on_step_end") and c.is_due(b.step)]
  for c in last:
    c.on_step_end(learner)
  if continuing():
    for c in b.begin_cbs:
      c.on_epoch_begin(target)
