"""SwitchOptimizer: change optimizers at a step, e.g. Adam, then L-BFGS.

The classic PINN recipe (Raissi et al. 2019; DeepXDE's ``model.compile("L-BFGS")``
after Adam) is a first-order warm-up followed by a quasi-Newton polish on the
full batch. Setting ``learner.optimizer`` starts fresh optimizer state and
recompiles the chunk once; nothing recompiles after that.

``optax.lbfgs()`` needs the loss value, the gradient and a loss function for
its line search; the learner passes ``value``, ``grad`` and ``value_fn`` to
every update, so it works unchanged. L-BFGS on PINNs often stalls in float32:
enable float64 before building the model and data with
``jax.config.update("jax_enable_x64", True)`` (the data are then kept in
float64 and the model's parameters follow its ``param_dtype``). Keep more
curvature pairs than optax's default 10: DeepXDE keeps 100 (``maxcor``), and
``optax.lbfgs(memory_size=100)`` reached a 20x lower Burgers loss in 1000
steps and, on Wu et al.'s resampling protocol, 2.8e-3 instead of 5.5e-2
after 10 rounds (``examples/burgers_wu_protocol.py --lbfgs-memory``).

Example:
  >>> import optax
  >>> from opifex_fit import callbacks as cb
  >>> switch = cb.SwitchOptimizer(at_step=5000, optimizer=optax.lbfgs(memory_size=100))
  >>> # learner.fit(data, steps=7000, callbacks=[switch]): Adam for 5000 steps, then L-BFGS
"""

from __future__ import annotations

import dataclasses

import optax

from opifex_fit.callbacks.base import ORDER_CHECKPOINT, Callback, check_every, load_status, status_field
from opifex_fit.engine.triggers import AtSteps


@dataclasses.dataclass
class SwitchState:
  """What ``state_dict`` holds: whether the switch has happened."""

  switched: bool = False


class SwitchOptimizer(Callback):
  """Sets ``learner.optimizer = optimizer`` once ``learner.step >= at_step``.

  Args:
    at_step: the global optimizer step after which ``optimizer`` takes over.
    optimizer: any ``optax.GradientTransformation`` (e.g. ``optax.lbfgs()``).

  Runs just before ``Checkpoint`` (order 49), so a checkpoint taken at
  ``at_step`` already holds the new optimizer's state. On a resume the
  Checkpoint loads this callback's state before the TrainState
  (``changes_structure``), so the optimizer is switched first and the saved
  optimizer state fits it. A fit that starts past ``at_step`` switches before
  compiling.
  """

  order = ORDER_CHECKPOINT - 1
  changes_structure = True  # Checkpoint: load my state before the TrainState

  def __init__(self, at_step: int, optimizer: optax.GradientTransformation):
    self.at_step = check_every(at_step, "at_step", allow_none=False)
    if not isinstance(optimizer, optax.GradientTransformation):
      raise TypeError(f"optimizer must be an optax.GradientTransformation such as"
                      f" optax.lbfgs(); got {optimizer!r}")
    self.optimizer = optimizer
    self.trigger = AtSteps(self.at_step)  # so that a chunk ends exactly at at_step
    self.status = SwitchState()

  switched = status_field("switched")

  def on_fit_begin(self, learner):
    self._learner = learner
    if not self.switched and learner.step >= self.at_step:
      self._switch(learner)

  def on_step_end(self, learner):
    if not self.switched and learner.step >= self.at_step:
      self._switch(learner)

  def _switch(self, learner):
    learner.optimizer = self.optimizer  # fresh optimizer state; one recompile
    self.switched = True

  def load_state_dict(self, state):
    status = load_status(SwitchState, state, "SwitchOptimizer")
    if status.switched and not self.switched and getattr(self, "_learner", None) is not None:
      self._switch(self._learner)  # the saved run had switched: match its structure
    self.status = status

  def on_fit_end(self, learner):
    self._learner = None
