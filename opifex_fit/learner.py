"""Learner: one model, one problem, one jitted loop, ordered callbacks.

The loop of ``fit`` (this docstring is its specification; the code is in
``engine/loop.py``)::

  fit(data, steps | epochs, batch_size, validation_data, validation_every,
      callbacks, verbose, steps_per_execution)
   1. check every argument (sizes, cadences, data shapes against the model by
      ``nnx.eval_shape``, finiteness); a bad one raises ValueError/TypeError
      and nothing runs. ``data`` is arrays (moved to the device once), or a
      ``HostDataset`` / iterable of batches (``opifex_fit.inputs.streaming``: its
      first batch is checked; the rest stream in per chunk). Streamed data
      with a callback that ``requires_device_data`` (RAD, GradNorm, ...) is
      refused.
   2. callbacks = sorted(user callbacks + History [+ ProgressBar]) by ``order``.
   3. on_fit_begin(learner) for each callback; callbacks may register loss
      terms (``add_loss_term``) here, before compiling.
   4. every callback's ``monitor`` is checked against the log names available
      (unknown names raise, listing the available ones).
   5. the chunk plan: a chunk runs from the current step to the nearest step
      at which any trigger is due (``engine.triggers``: every callback's
      ``trigger``, ``Every(every)`` by default, ``AtSteps`` for
      SwitchOptimizer/Multilevel; validation; epoch ends for minibatches; the
      fit's end), at most ``steps_per_execution`` steps (a cap, 1000 for
      "auto"; never a divisor). Wall-clock triggers (``EverySeconds``,
      ``Checkpoint(every_seconds=)``) set no boundary: they are asked at each.
      ONE jitted ``run_chunk(state, n)`` (n steps in ``lax.fori_loop`` with a
      traced bound, the model in train mode) serves every length: it
      compiles once per fit (per model structure and optimizer).
   6. on_epoch_begin, then until the target step or ``stop_training``:
        n = steps to the nearest due trigger, at most the cap
        state, metrics = run_chunk(state, n)   # donated; no host sync inside
          (streamed data: run_chunk(state, n, batches), the n batches a
           background thread stacked into a fixed-size buffer and put on the
           device meanwhile; the thread follows the same plan)
        step += n
        if anything is due at this step:
          logs = one device_get of the chunk's mean losses, lr_scale, weights
          if validation is due: logs |= val_* from the jitted evaluate
          on_step_end      for callbacks due at step (``is_due``: their
                           ``trigger`` says so)
                           (except ``runs_last`` ones, below)
          on_validation_end for all callbacks, if validation ran
          on_epoch_end     for all callbacks, if an epoch ended here (epoch
                           ends are exact boundaries: Keras epochs)
          on_step_end      for callbacks with ``runs_last`` (Checkpoint), due
                           here or because the fit stops here: they persist
                           the boundary after every other hook changed it
          on_epoch_begin   for all callbacks, if another epoch follows
   7. on an exception: on_exception(learner, exc) for each, then re-raise.
   8. finally: on_fit_end for each callback, always; then ``learner.model``
      holds the final weights.

For full-batch data one step is one epoch, so epoch events fire once per
chunk with ``learner.epoch`` counting steps. Hooks only ever run at chunk
boundaries: the device is idle and every write (``loss_weights``,
``lr_scale``, ``data``, ``state``) takes effect in the next chunk with no
recompilation.
"""

from __future__ import annotations

import jax
import optax
from flax import nnx

from opifex_fit import validators
from opifex_fit.callbacks.base import Callback
from opifex_fit.callbacks.fit_callbacks import fit_callbacks
from opifex_fit.engine import evaluation, modes, services, step_hooks
from opifex_fit.engine.loop import run_loop
from opifex_fit.engine.loss_terms import LossTerms
from opifex_fit.engine.loss_weights import LossWeights
from opifex_fit.engine.optimizers import Optimizers, init_opt_state
from opifex_fit.engine.state import TrainState, copy_tree, float_dtype, initial_state, scalar
from opifex_fit.history import History
from opifex_fit.parallel.sharding import DataParallel
from opifex_fit.persistence import saving
from opifex_fit.problems.base import Problem, to_device_tree


class Learner:
  """Trains ``model`` on ``problem`` with ``optimizer``.

  Example:
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> x = np.random.default_rng(0).uniform(-1, 1, (256, 1)); y = np.sin(3 * x)
    >>> learner = of.Learner(of.models.MLP(1, [32, 32, 1], rngs=nnx.Rngs(0)),
    ...                      of.Supervised("mse"), optax.adam(3e-3))
    >>> history = learner.fit((x, y), epochs=50, batch_size=64, verbose=0)
    >>> learner.evaluate((x, y))["loss"] < 0.05
    True

  Args:
    model: any ``flax.nnx.Module``; its ``nnx.Param`` variables are trained.
      Its other variables (BatchNorm statistics, Dropout RNG streams, custom
      ``nnx.Variable``s) live in ``state.rest`` and are updated by every
      training step. ``fit`` runs the model in train mode, ``evaluate``,
      ``predict`` and validation in eval mode (``opifex_fit.engine.modes``); the
      module's own mode is left as it is.
    problem: an ``of.Supervised``, ``of.PDEProblem`` or other ``Problem``.
    optimizer: an optax transformation (default ``optax.adam(1e-3)``); optax
      schedules inside it keep working, and ``lr_scale`` multiplies its updates.
    seed: seeds shuffling and every callback's randomness (``next_key``).
    mesh: a ``jax.sharding.Mesh`` for data-parallel training (e.g.
      ``of.data_parallel_mesh()``): the training data's leading dimension is
      split over ``data_axis``, the rest replicated, and XLA all-reduces the
      gradients (see ``opifex_fit.parallel.sharding``, also for several hosts). None
      (the default, even with several devices) trains on the default device
      exactly as a plain JAX program would: opting in keeps the numerics and
      the determinism of the common one-GPU run unchanged, and a mesh changes
      float summation order.
    data_axis: the mesh axis that splits the data (default ``"data"``).
  """

  def __init__(self, model, problem, optimizer=None, *, seed: int = 0, mesh=None,
               data_axis: str = "data"):
    # Train-mode graphdef for fit; evaluate/predict use ``eval_graphdef``.
    self.graphdef, params, rest = modes.split_train(model)
    if not isinstance(problem, Problem):
      raise TypeError(f"problem must be an opifex_fit Problem (Supervised, PDEProblem, ...);"
                      f" got {type(problem).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
      raise TypeError(f"seed must be an int; got {seed!r}")
    if not isinstance(data_axis, str):
      raise TypeError(f"data_axis must be a mesh axis name (str); got {data_axis!r}")
    self._placement = None if mesh is None else DataParallel(mesh, data_axis)
    self.problem, self._model, self.seed = problem, model, seed
    self.data_version = 0  # counts replacements of state.data (learner.data = ...)
    self._eval_graphdef = (None, None)
    self.trace_counts: dict[str, int] = {}
    self._terms = LossTerms(problem)
    self._jit_cache: dict = {}
    self._optimizers = Optimizers()
    self._optimizer = self._optimizers.wrap(optimizer or optax.adam(1e-3))
    defaults = problem.default_weights()
    weights = {t: validators.nonnegative_float(defaults.get(t, 1.0), f"weights[{t!r}]")
               for t in problem.term_names()}
    self.state = initial_state(params, rest, init_opt_state(self._optimizer, params),
                               seed=seed, weights=weights)
    self.history = History()
    self.logs: dict[str, float] = {}
    self.callbacks: list[Callback] = []
    self.step_hooks: tuple = ()  # the current fit's StepHooks (engine.step_hooks)
    self.stop_training = False
    self.step = 0
    self.epoch = 0

  # -- state a callback reads and writes ----------------------------------------
  @property
  def state(self) -> TrainState:
    return self._state

  @state.setter
  def state(self, value: TrainState):
    if getattr(self, "_state", None) is not None and value.data is not self._state.data:
      self.data_version += 1  # resampled or restored points: losses are not comparable
    if self._placement is not None:  # keeps every leaf's sharding (the problem pads its data)
      value = self._placement.place_state(value, self.problem)
    self._state = value
    self._model_synced = False

  def adopt_state(self, value: TrainState) -> None:
    """Takes the state a chunk returned (the loop): already placed by the
    chunk's ``out_shardings``, so unlike ``state = ...`` nothing is re-placed."""
    self._state, self._model_synced = value, False

  @property
  def eval_graphdef(self):
    """The model's graphdef in eval mode (Dropout off, BatchNorm running
    averages; see ``opifex_fit.engine.modes``), over the same state as ``graphdef``."""
    if self._eval_graphdef[0] is not self.graphdef:  # follows a replaced graphdef
      self._eval_graphdef = (self.graphdef, modes.eval_graphdef(
          self.graphdef, self._state.params, self._state.rest))
    return self._eval_graphdef[1]

  @property
  def mesh(self):
    """The data-parallel mesh (None: one device)."""
    return None if self._placement is None else self._placement.mesh

  @property
  def placement(self) -> DataParallel | None:
    """The placement rules on the mesh (``parallel.sharding.DataParallel``; None: one device)."""
    return self._placement

  @property
  def model(self) -> nnx.Module:
    """The user's module, updated with (copies of) the current weights."""
    if not self._model_synced:
      nnx.update(self._model, copy_tree(self._state.params), copy_tree(self._state.rest))
      self._model_synced = True
    return self._model

  @property
  def lr_scale(self) -> float:
    return float(self._state.lr_scale)

  @lr_scale.setter
  def lr_scale(self, value: float):
    value = validators.nonnegative_float(value, "lr_scale")
    self.state = self._state.replace(lr_scale=scalar(value, self._state.lr_scale.dtype))

  @property
  def loss_weights(self) -> LossWeights:
    return LossWeights(self)

  @loss_weights.setter
  def loss_weights(self, values):
    view = LossWeights(self)
    for name, value in dict(values).items():
      view[name] = value

  @property
  def data(self):
    return self._state.data

  @data.setter
  def data(self, value):
    """Replaces the training data; same structure, shapes and dtypes only."""
    if self._state.data is None:
      raise ValueError("learner.data can only be replaced during or after a fit")
    if not all(isinstance(a, jax.Array) for a in jax.tree.leaves(value)):
      value = to_device_tree(value, "learner.data")
    if self._placement is not None:
      value = self._placement.pad(self.problem, value)
    validators.check_same_structure(value, self._state.data, "learner.data")
    self.state = self._state.replace(data=value)

  @property
  def optimizer(self) -> optax.GradientTransformation:
    return self._optimizer

  @optimizer.setter
  def optimizer(self, value):
    """A new optimizer starts from fresh optimizer state. The chunk compiles
    once per optimizer object: setting one used before (Adam again after
    L-BFGS, as resampling rounds do) reuses its compiled chunk."""
    self._optimizer = self._optimizers.wrap(value)
    self.state = self._state.replace(opt_state=init_opt_state(self._optimizer, self._state.params))

  def replace_model(self, model: nnx.Module) -> None:
    """Trains ``model`` from the next chunk on (model growth: ``cb.Multilevel``).

    Split in train mode as in ``__init__``; its weights are copied into the
    state and the optimizer starts from fresh state for them (as on an
    optimizer switch: moments of another shape have no meaning); the chunk
    and evaluation recompile once. Step, RNG, loss weights, ``lr_scale``,
    data and history stay. ``model`` must keep the float dtype of the params.
    """
    graphdef, params, rest = modes.split_train(model)
    if float_dtype(params) != self._state.lr_scale.dtype:
      raise ValueError(f"replace_model: the new model's float dtype {float_dtype(params)} must be "
                       f"the current one, {self._state.lr_scale.dtype}")
    self._model, self.graphdef = model, graphdef
    self.state = self._state.replace(params=copy_tree(params), rest=copy_tree(rest),
                                     opt_state=init_opt_state(self._optimizer, params))
    self._jit_cache.clear()

  def save(self, path, *, overwrite: bool = False) -> None:
    """Writes the current weights (Orbax); see ``opifex_fit.persistence.saving``."""
    saving.save_weights(self, path, overwrite=overwrite)

  def load(self, path) -> None:
    """Reads weights written by ``save`` into this learner (same architecture)."""
    saving.load_weights(self, path)

  def hook_state(self, name: str):
    """The device state of the step hook ``name`` (``engine.step_hooks``)."""
    if name not in self._state.hooks:
      raise KeyError(f"no step hook {name!r} in this fit; hooks: {sorted(self._state.hooks)}")
    return self._state.hooks[name]

  def set_hook_state(self, name: str, value) -> None:
    """Writes a hook's device state; same structure, shapes and dtypes only
    (a new value then never recompiles)."""
    self.state = self._state.replace(hooks=step_hooks.replacement(self._state.hooks, name, value))

  def next_key(self) -> jax.Array:
    """A fresh PRNG key split off the state's key (checkpointed with it)."""
    rng, key = jax.random.split(self._state.rng)
    self.state = self._state.replace(rng=rng)
    return key

  # -- loss terms -----------------------------------------------------------
  def term_names(self) -> tuple[str, ...]:
    return self._terms.names()

  def add_loss_term(self, name: str, fn, weight: float = 1.0) -> None:
    """Adds ``weight * fn(model, data)`` to the loss (call before compiling,
    e.g. from ``on_fit_begin``). Re-adding the same ``fn`` is a no-op."""
    weight = self._terms.add(name, fn, weight)
    if weight is not None:
      weights = dict(self._state.loss_weights, **{name: scalar(weight, self._state.lr_scale.dtype)})
      self.state = self._state.replace(loss_weights=weights)
      self._jit_cache.clear()

  def loss_terms_fn(self, model, data) -> dict:
    """``{term: unweighted loss}``: the problem's terms and the added ones."""
    return self._terms(model, data)

  # -- services for callbacks (opifex_fit.engine.services) ----------------------
  def compile(self, name: str, fn, *, eval_mode: bool = False, key=None, hooked: bool = False):
    """``run(*args) -> fn(s, *args)`` jitted, ``s`` a ``services.StateView`` of the
    current state; cached, trace-counted, placed (see ``engine.services``)."""
    return services.compile_fn(self, name, fn, eval_mode=eval_mode, key=key, hooked=hooked)

  def term_losses(self, terms=None, data=None) -> dict:
    """``{term: unweighted loss}`` of the current state (default data: ``learner.data``)."""
    return services.term_losses(self, terms, data)

  def term_gradients(self, terms=None, data=None, select=None):
    """``(losses (T,), grads)``: per selected parameter leaf, ``(T, *leaf.shape)``."""
    return services.term_gradients(self, terms, data, select)

  def residuals(self, term: str, points, chunk_size=None, *, eval_mode: bool = False):
    """Pointwise residuals of a problem term at ``points`` ``(m, dim)``."""
    return services.residuals(self, term, points, chunk_size, eval_mode=eval_mode)

  def cached(self, key, build):
    """The jitted function cached under ``key`` (built by ``build()`` once); the
    cache is cleared when the model or the loss terms change (``replace_model``,
    ``add_loss_term``); chunk keys name their optimizer."""
    if key not in self._jit_cache:
      self._jit_cache[key] = build()
    return self._jit_cache[key]

  def place(self, tree):
    """Inputs on the mesh: split where the leading dimension divides, else replicated."""
    return tree if self._placement is None else self._placement.place(tree)

  # -- fit / evaluate / predict ---------------------------------------------------
  def fit(self, data=None, *, steps=None, epochs=None, batch_size=None,
          validation_data=None, validation_every=None, callbacks=(), verbose=1,
          steps_per_execution="auto") -> History:
    """Trains; see the module docstring for the exact order of events.

    Returns the learner's History (all records so far, also of earlier fits).
    """
    return run_loop(self, data, steps=steps, epochs=epochs, batch_size=batch_size,
                    validation_data=validation_data, validation_every=validation_every,
                    callbacks=fit_callbacks(callbacks, verbose),
                    steps_per_execution=steps_per_execution)

  def evaluate(self, data, *, batch_size=None) -> dict[str, float]:
    """In eval mode: the weighted total ``loss``, each ``<term>_loss`` and the
    problem's metrics (``Supervised``: ``relative_l2``) on ``data`` (arrays, a
    ``HostDataset`` or an iterable of batches: example-weighted means)."""
    return {k: float(v) for k, v in evaluation.evaluate(self, data, batch_size).items()}

  def predict(self, x, *, batch_size=None) -> jax.Array:
    """The model output for ``x`` in eval mode (in batches along the leading
    axis if asked). Inputs the model cannot take raise ValueError naming the
    shapes, before anything compiles."""
    return evaluation.predict(self, x, batch_size)
