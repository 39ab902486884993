"""Checkpoint: Orbax checkpoints of the whole training run, and exact resume.

On-disk layout (one Orbax ``CheckpointManager`` directory; plain Orbax reads it)::

  directory/<step>/state/      PyTree: the TrainState as a dict (params, rest,
                               opt_state, step, rng as uint32 key data,
                               loss_weights, lr_scale, data, skipped, epoch,
                               batch_pos, perm); data without mesh padding
  directory/<step>/callbacks/  JSON: {"EarlyStopping_0": {...}, ...} (class
                               name + index among callbacks of that class)
  directory/<step>/history/    JSON: History.state_dict()
  directory/<step>/device_<key>/  PyTree: a callback's ``device_state()``
                               (EarlyStopping_0: the best weights), if any
  directory/<step>/metadata/   JSON: versions, model/problem summary, and the
                               shape/dtype of every state array

  >>> import orbax.checkpoint as ocp                                   # doctest: +SKIP
  >>> mngr = ocp.CheckpointManager("/abs/ckpt")                         # doctest: +SKIP
  >>> ckpt = mngr.restore(mngr.latest_step(), args=ocp.args.Composite(
  ...     state=ocp.args.StandardRestore(), history=ocp.args.JsonRestore()))  # doctest: +SKIP
  >>> ckpt["state"]["params"]["layers"]["0"]["kernel"]["value"]         # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile

import jax
import orbax.checkpoint as ocp

from opifex_fit import validators
from opifex_fit.persistence import saving
from opifex_fit.parallel import sharding
from opifex_fit.callbacks import _callback_states as states
from opifex_fit.callbacks import _checkpoint_format as ckpt_format
from opifex_fit.callbacks.base import ORDER_CHECKPOINT, Callback, check_every
from opifex_fit.callbacks._preemption import PreemptionGuard
from opifex_fit.engine.state import copy_tree
from opifex_fit.engine.triggers import AnyOf, Every, EverySeconds

class Checkpoint(Callback):
  """Writes the whole run every ``every`` steps and resumes it exactly.

  Each checkpoint holds the TrainState (weights, optimizer state, step, RNG,
  loss weights, ``lr_scale``, training data, shuffling position), every
  callback's ``state_dict()``, the History and metadata. With ``resume=True``
  a fit on a directory that holds checkpoints continues from the latest one
  and ends in the state an uninterrupted run would reach (bit for bit on CPU,
  minibatch shuffling included): ``fit(steps=N)`` ends at global step N. A
  directory holding another model or optimizer is refused before training.

  The last checkpoint of a fit is written at its last chunk boundary (the
  target step, an early stop, a signal), before any ``on_fit_end``: it holds
  the training state a resumed fit continues from, never weights that a
  callback puts back at the end (EarlyStopping's best weights are stored
  beside it as that callback's device state, and come back on a resume).

  On SIGTERM or Ctrl-C the current chunk finishes, a checkpoint is written and
  the fit returns (``checkpoint.preempted`` is then True); run the same script
  again to continue. A run killed outright loses only the steps since the last
  checkpoint: Orbax writes atomically and nothing on disk is deleted except
  checkpoints that fall out of ``max_to_keep``.

  Example (every 10 steps; a second fit on the same directory resumes):
    >>> import os, tempfile
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> directory, x = tempfile.mkdtemp(), np.linspace(-1, 1, 32)[:, None]
    >>> def learner():
    ...   return of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised())
    >>> _ = learner().fit((x, x ** 2), steps=20, verbose=0,
    ...                   callbacks=[cb.Checkpoint(directory, every=10, verbose=0)])
    >>> sorted(int(s) for s in os.listdir(directory) if s.isdigit())
    [10, 20]
    >>> resumed = learner()
    >>> _ = resumed.fit((x, x ** 2), steps=30, verbose=0,
    ...                 callbacks=[cb.Checkpoint(directory, every=10, verbose=0)])
    >>> resumed.history.steps   # steps 1-20 came back from the checkpoint
    [10, 20, 30]

  Args:
    directory: where the step directories go (created if missing).
    every: save every this many optimizer steps (and at the end of the fit);
      None with ``every_seconds``: by the clock only.
    max_to_keep: how many latest checkpoints to keep (None: all).
    monitor: a logged name; checkpoints best by it are kept too.
    resume: continue from the latest checkpoint in ``directory``.
    mode: "min" or "max": which ``monitor`` values are better.
    async_save: write in the background; ``on_fit_end`` waits for it.
    keep_best: how many best-by-``monitor`` checkpoints to keep (default
      ``max_to_keep``).
    verbose: print a line when resuming or stopping on a signal.
    every_seconds: also save at the first chunk boundary once this many
      seconds passed since the last save (CLU's ``every_secs``: preemptible
      jobs); chunks are at most ``steps_per_execution`` steps long.
  """

  order = ORDER_CHECKPOINT

  def __init__(self, directory, every: int = 1000, max_to_keep: int | None = 3,
               monitor: str | None = None, resume: bool = True, *, mode: str = "min",
               async_save: bool = True, keep_best: int | None = None, verbose: int = 1,
               every_seconds: float | None = None):
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
      raise TypeError(f"directory must be a non-empty path; got {directory!r}")
    self.directory = os.path.abspath(os.fspath(directory))
    self.every = check_every(every, allow_none=every_seconds is not None)
    clock = [] if every_seconds is None else [EverySeconds(every_seconds)]
    self.trigger = AnyOf(*([Every(self.every)] if self.every else []), *clock)
    for name, value in (("max_to_keep", max_to_keep), ("keep_best", keep_best)):
      if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int number of checkpoints or None; got {value!r}")
    self.max_to_keep, self.keep_best = max_to_keep, keep_best
    if monitor is not None and (not isinstance(monitor, str) or not monitor):
      raise ValueError(f"monitor must be a logged name such as 'val_loss' or None; got {monitor!r}")
    if keep_best is not None and monitor is None:
      raise ValueError(f"keep_best={keep_best} needs a monitor to rank checkpoints by")
    if mode not in ("min", "max"):
      raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
    validators.check_bool(resume, "resume")
    validators.check_bool(async_save, "async_save")
    self.monitor, self.mode, self.resume, self.async_save = monitor, mode, resume, async_save
    self.verbose = verbose
    self.preempted, self.restored_step = False, None
    self._guard = PreemptionGuard()
    self._manager, self._learner, self._ready = None, None, False

  # -- the fit --------------------------------------------------------------------
  def on_fit_begin(self, learner):
    self._learner, self._ready, self._failed = learner, False, False
    self.preempted, self.restored_step, self._last_value = False, None, None
    self._model_name = type(learner.model).__name__
    states.json_states(learner.callbacks)  # a non-JSON state_dict fails now, not at the first save
    self._manager = self._open()
    self._latest = self._manager.latest_step()
    if self._latest is not None:
      metadata = self._read(self._latest, metadata=ocp.args.JsonRestore())["metadata"]
      if self._latest > learner.step and self.resume:
        # Callbacks that change the state's structure (SwitchOptimizer) take
        # their saved state first, so the learner matches the saved run.
        self._load_callback_states(learner, self._latest, early=True)
      ckpt_format.check_compatible(self.directory, self._latest, metadata, learner.state,
                                   ckpt_format.MODEL_FIELDS)
      if self._latest > learner.step:
        if not self.resume:
          raise ValueError(
              f"Checkpoint: directory={self.directory!r} holds checkpoints up to step "
              f"{self._latest} and the learner is at step {learner.step}; with resume=False "
              "new checkpoints would mix two runs. Pass resume=True or another directory.")
        self._restore(learner, self._latest, metadata)
    self._latest = -1 if self._latest is None else self._latest
    self._guard.install()
    self._ready = True

  # Saved after every other hook of its boundary (validation and epoch-end
  # checks included), so a checkpoint holds the callbacks' states of that step.
  runs_last = True

  def is_due(self, step: int) -> bool:
    # Also due on a pending signal and at the last boundary (the target step, or
    # an early stop), so the final checkpoint is the training state a resumed
    # fit continues from, written before other callbacks' on_fit_end change it
    # (EarlyStopping restoring its best weights).
    learner = self._learner
    target = getattr(learner, "target_step", None)
    return super().is_due(step) or self._guard.requested or \
        (target is not None and step >= target) or bool(getattr(learner, "stop_training", False))

  def on_step_end(self, learner):
    self._track(learner)
    self._save(learner)
    if self._guard.requested:
      self.preempted, learner.stop_training = True, True
      if self.verbose:
        print(f"Checkpoint: {self._guard.name()} received; saved step {learner.step} to "
              f"{self.directory}; run again to resume")

  def on_validation_end(self, learner):
    self._track(learner)

  def on_exception(self, learner, exception):
    self._failed = True  # the state may be mid-update: keep the last good checkpoint

  def on_fit_end(self, learner):
    self._guard.uninstall()
    try:
      if self._ready and not self._failed:
        self._save(learner)
    finally:
      if self._manager is not None:
        self._manager.wait_until_finished()
        self._manager.close()
      self._manager, self._learner, self._ready = None, None, False

  # -- saving ---------------------------------------------------------------------
  def _open(self) -> ocp.CheckpointManager:
    try:
      os.makedirs(self.directory, exist_ok=True)
      fd, probe = tempfile.mkstemp(prefix=".opifex_fit_write_test_", dir=self.directory)
      os.close(fd)
      os.remove(probe)  # only ever our own probe file
    except OSError as e:
      raise ValueError(f"Checkpoint: directory={self.directory!r} is not writable "
                       f"({type(e).__name__}: {e.strerror or e}); expected a directory "
                       "that can be created and written to") from e
    if self.max_to_keep is None:
      policy = None  # Orbax keeps every checkpoint by default
    else:
      policy = ocp.checkpoint_managers.LatestN(n=self.max_to_keep)
      if self.monitor is not None:
        best = ocp.checkpoint_managers.BestN(
            get_metric_fn=lambda m: m[self.monitor], reverse=self.mode == "min",
            n=self.keep_best or self.max_to_keep, keep_checkpoints_without_metrics=False)
        policy = ocp.checkpoint_managers.AnyPreservationPolicy([policy, best])
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy, enable_async_checkpointing=self.async_save,
        cleanup_tmp_directories=True, create=True)
    return ocp.CheckpointManager(self.directory, options=options)

  def _track(self, learner):
    if self.monitor is not None and self.monitor in learner.logs:
      self._last_value = float(learner.logs[self.monitor])

  def _save(self, learner):
    step = learner.step
    if step <= self._latest:
      return
    # A copy: the live state is donated to the next chunk while Orbax writes.
    # The data without mesh padding: the checkpoint restores on any device count.
    logical = sharding.logical_state(learner)
    state = copy_tree(saving.to_disk(logical))
    value = self._last_value
    metrics = {self.monitor: value} if value is not None and value == value \
        and abs(value) != float("inf") else None
    device = states.device_save_args(learner.callbacks)
    metadata = dict(ckpt_format.metadata(learner, logical, self._model_name),
                    device_states=states.saved_keys(device))
    self._manager.save(step, metrics=metrics, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        callbacks=ocp.args.JsonSave(states.json_states(learner.callbacks)),
        history=ocp.args.JsonSave(learner.history.state_dict()),
        metadata=ocp.args.JsonSave(metadata),
        **device))
    self._latest = step

  # -- resuming -------------------------------------------------------------------
  def _read(self, step, **items):
    try:
      return self._manager.restore(step, args=ocp.args.Composite(**items))
    except Exception as e:  # noqa: BLE001 - any failure here means "not ours"
      raise ValueError(f"Checkpoint: step {step} in directory={self.directory!r} is not a "
                       f"readable opifex_fit checkpoint ({type(e).__name__}: {e}); use an "
                       "empty directory or one written by cb.Checkpoint") from e

  def _restore(self, learner, step, metadata) -> None:
    like = ckpt_format.restore_target(learner, metadata)
    ckpt_format.check_compatible(self.directory, step, metadata, like, ckpt_format.DATA_FIELDS)
    target = saving.to_disk(like)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    restored = self._read(step, state=ocp.args.StandardRestore(abstract),
                          history=ocp.args.JsonRestore())
    # The setter pads the data again for this learner's mesh.
    learner.state = saving.from_disk(restored["state"], like)
    learner.step, learner.epoch = int(learner.state.step), int(learner.state.epoch)
    learner.history.load_state_dict(restored["history"])
    # After learner.state, so a callback may re-read the restored state here.
    # Callbacks ordered after this one run on_fit_begin after the restore:
    # they must not reset persistent state there.
    self._load_callback_states(learner, step, early=False)
    likes, args = states.device_restore_args(learner, set(metadata.get("device_states", ())))
    if args:
      states.load_device_states(learner, likes, self._read(step, **args))
    self.restored_step = step
    if self.verbose:
      print(f"Checkpoint: resumed from step {step} in {self.directory}")

  def _load_callback_states(self, learner, step, *, early: bool) -> None:
    saved = self._read(step, callbacks=ocp.args.JsonRestore())["callbacks"] or {}
    for key, c in states.keyed(learner.callbacks).items():
      if key in saved and c.changes_structure == early:
        c.load_state_dict(saved[key])

  def __repr__(self):
    return f"Checkpoint({self.directory!r}, every={self.every}, max_to_keep={self.max_to_keep})"
