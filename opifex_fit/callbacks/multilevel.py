"""Multilevel: coarse-to-fine training of a hierarchy of models in one ``fit``.

The model given to the ``Learner`` is the coarsest level. At each step in
``levels`` the callback grows it by one level, preserving its function
(``opifex_fit.models.growth``): an ``MLP`` gets ``width_factor`` times wider
hidden layers (and ``extra_layers`` new residual layers, identity at first),
an ``FNO`` ``modes_factor`` times more Fourier modes (the new modes' weights
zero). With ``coarsening_factor > 1`` level ``l`` of ``L`` also trains on the
training data subsampled by ``coarsening_factor**(L - 1 - l)`` along the grid
axes (every that-many-th grid point; the finest level sees the full grid),
so an FNO learns the low modes on cheap coarse grids first.

Each switch replaces the model through ``learner.replace_model`` (fresh
optimizer state for the grown parameters, as on ``SwitchOptimizer``) and,
with coarsening, the training data of the new level's shape through the
``learner.state`` setter (``learner.data =`` only takes data of unchanged
shapes, since it promises not to recompile): exactly one declared
recompilation of the chunk per level, ``learner.trace_counts["chunk"]``
counts it. Its trigger is ``AtSteps(*levels)``, so a chunk ends at each switch.

Checkpoints store the level (``state_dict``); on a resume ``Checkpoint``
loads it before the TrainState (``changes_structure``), the callback grows a
fresh learner's (coarsest) model to the saved level, and the saved weights,
optimizer state, RNG and data then fit it: the resumed run ends bit for bit
where the uninterrupted one does.

Example:
  >>> import numpy as np, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> from opifex_fit import callbacks as cb
  >>> x = np.linspace(-1, 1, 128, dtype=np.float32)[:, None]
  >>> learner = of.Learner(of.models.MLP(1, [8, 8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
  ...                      optax.adam(3e-3))
  >>> multilevel = cb.Multilevel(levels=[100, 200], width_factor=2)
  >>> _ = learner.fit((x, np.sin(3 * x)), steps=300, callbacks=[multilevel], verbose=0)
  >>> multilevel.level, [layer.out_features for layer in learner.model.layers]
  (2, [32, 32, 1])
  >>> learner.trace_counts["chunk"]     # once per level
  3
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
from flax import nnx

from opifex_fit.callbacks.base import ORDER_CHECKPOINT, Callback
from opifex_fit.engine.triggers import AtSteps
from opifex_fit.models.fno import FNO
from opifex_fit.models.growth import grow_fno, grow_mlp
from opifex_fit.models.mlp import MLP


def _check_levels(levels) -> tuple[int, ...]:
  if isinstance(levels, (str, bytes, int)) or not isinstance(levels, Sequence) or not levels:
    raise ValueError(f"levels must be a non-empty increasing sequence of global steps at which"
                     f" the next level starts (e.g. [1000, 3000] for 3 levels); got {levels!r}")
  for i, s in enumerate(levels):
    if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
      raise ValueError(f"levels[{i}] must be a positive int step; got {s!r} in levels={levels!r}")
  if any(b <= a for a, b in zip(levels, levels[1:])):
    raise ValueError(f"levels must be strictly increasing steps; got {list(levels)!r}")
  return tuple(levels)


def _factor(value, name: str, *, integer: bool):
  kinds = (int,) if integer else (int, float)
  if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value < 1:
    raise ValueError(f"{name} must be {'an int' if integer else 'a number'} >= 1; got {value!r}")
  return value


class Multilevel(Callback):
  """Grows the model by one level at each step of ``levels`` (coarse to fine).

  Args:
    levels: increasing global steps at which the next level starts;
      ``len(levels) + 1`` levels, the last trained until the fit ends.
      (``MultilevelConfig(level_epochs=[100, 200, 500])`` of the opifex
      guide is ``levels=[100, 300]`` in steps.)
    width_factor: MLP hidden widths grow by this factor per level.
    extra_layers: MLP residual layers added per level (before the output layer).
    modes_factor: FNO Fourier modes grow by this int factor per level.
    coarsening_factor: int; level ``l`` of ``L`` trains on the data
      subsampled by ``coarsening_factor**(L-1-l)`` along the grid axes
      (1: every level on the full data). Needs data on the device. Each
      grid size ``n`` must be divisible by that stride (``n - 1`` for an
      FNO with ``grid="closed"``, so the coarse points keep their
      coordinates) and, for an FNO, hold the level's modes.
    grid_axes: the data's grid axes (default: axes ``1..d`` of an FNO with
      ``d`` modes); every data leaf with these axes is subsampled.
    grow: ``grow(model, level, rngs) -> model`` replacing the built-in
      growth (for other models); ``level`` is the new level (1, 2, ...).
    verbose: print a line at each switch.

  Attributes:
    level: the current level (0 = the model the learner was built with).
    switch_steps: the steps at which this callback switched levels.
  """

  order = ORDER_CHECKPOINT - 1  # like SwitchOptimizer: a checkpoint at a switch holds the new level
  changes_structure = True      # Checkpoint: load my state (the level) before the TrainState

  def __init__(self, levels: Sequence[int], *, width_factor: float = 2.0, extra_layers: int = 0,
               modes_factor: int = 2, coarsening_factor: int = 1,
               grid_axes: Sequence[int] | None = None,
               grow: Callable | None = None, verbose: int = 0):
    self.levels = _check_levels(levels)
    self.width_factor = _factor(width_factor, "width_factor", integer=False)
    if isinstance(extra_layers, bool) or not isinstance(extra_layers, int) or extra_layers < 0:
      raise ValueError(f"extra_layers must be a non-negative int; got {extra_layers!r}")
    self.extra_layers = extra_layers
    self.modes_factor = _factor(modes_factor, "modes_factor", integer=True)
    self.coarsening_factor = _factor(coarsening_factor, "coarsening_factor", integer=True)
    if grid_axes is not None and (isinstance(grid_axes, (str, int)) or not grid_axes or any(
        isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in grid_axes)):
      raise ValueError(f"grid_axes must be None or a sequence of data axes >= 1 (axis 0 holds "
                       f"the examples); got {grid_axes!r}")
    self.grid_axes = None if grid_axes is None else tuple(grid_axes)
    if grow is not None and not callable(grow):
      raise TypeError(f"grow must be None or a callable (model, level, rngs) -> model; got {grow!r}")
    self.grow = grow
    self.verbose = verbose
    self.trigger = AtSteps(*self.levels)  # a chunk boundary at every switch
    self.requires_device_data = self.coarsening_factor > 1
    self.level, self.switch_steps = 0, []
    self._learner, self._installed, self._pending, self._full = None, None, None, None

  @property
  def num_levels(self) -> int:
    return len(self.levels) + 1

  # -- the fit ----------------------------------------------------------------------
  def on_fit_begin(self, learner):
    if learner.model is not self._installed:
      self.level, self.switch_steps = 0, []  # a learner this callback did not grow: the coarsest
    self._check_model(learner.model)
    self._check_callbacks(learner.callbacks)
    self._learner = learner
    if self.coarsening_factor > 1:
      self._full = learner.data  # this fit's data, at full resolution
      self._check_grids(learner.model)
      self._set_data(learner)
    target, self._pending = max(self._pending or 0, self._due(learner.step)), None
    self._advance_to(learner, target)

  def on_step_end(self, learner):
    self._advance_to(learner, self._due(learner.step))

  def on_fit_end(self, learner):
    self._learner, self._full = None, None

  def state_dict(self):
    return {"level": self.level}

  def load_state_dict(self, state):
    level = state.get("level", 0)
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < self.num_levels:
      raise ValueError(f"Multilevel: saved level must be an int in [0, {self.num_levels}) for "
                       f"levels={list(self.levels)}; got {level!r}")
    if self._learner is None:
      self._pending = level  # applied by the next fit's on_fit_begin
      return
    if level < self.level:
      raise ValueError(f"Multilevel: cannot go back from level {self.level} to the saved "
                       f"level {level}; resume into a learner built with the coarsest model")
    self._advance_to(self._learner, level)

  # -- levels -----------------------------------------------------------------------
  def _due(self, step: int) -> int:
    return sum(step >= s for s in self.levels)

  def _advance_to(self, learner, level: int) -> None:
    while self.level < level:
      key = learner.next_key()  # the checkpointed RNG: a resume grows alike
      model = self._grow(learner.model, self.level + 1, key)
      learner.replace_model(model)
      self._installed, self.level = model, self.level + 1
      self.switch_steps.append(learner.step)
      if self.coarsening_factor > 1:
        self._set_data(learner)
      if self.verbose:
        print(f"Multilevel: level {self.level} of {self.num_levels - 1} at step {learner.step}: "
              f"{self._describe(model)}")

  def _grow(self, model, level, key):
    if self.grow is not None:
      return self.grow(model, level, nnx.Rngs(key))
    # Jitted: one small compilation per switch instead of one per eager op and shape.
    if isinstance(model, FNO):
      modes = [m * self.modes_factor for m in model.modes]
      return nnx.jit(lambda m: grow_fno(m, modes))(model)
    return nnx.jit(lambda m, k: grow_mlp(m, self.width_factor, self.extra_layers,
                                         rngs=nnx.Rngs(k)))(model, key)

  def _check_model(self, model) -> None:
    if self.grow is None and not isinstance(model, (MLP, FNO)):
      raise TypeError(f"Multilevel: no built-in growth for a {type(model).__name__} (MLP and FNO "
                      "grow by themselves); pass grow=fn(model, level, rngs) -> model")

  @staticmethod
  def _check_callbacks(callbacks) -> None:
    from opifex_fit.callbacks.early_stopping import EarlyStopping  # noqa: PLC0415
    for c in callbacks:
      if isinstance(c, EarlyStopping) and c.restore_best_weights:
        raise ValueError("Multilevel: EarlyStopping(restore_best_weights=True) may put back the "
                         "weights of a smaller level, which do not fit the grown model; use "
                         "restore_best_weights=False (or Checkpoint(monitor=...) to keep the best)")

  @staticmethod
  def _describe(model) -> str:
    if isinstance(model, FNO):
      return f"FNO modes {model.modes}"
    if isinstance(model, MLP):
      return f"MLP widths {[layer.out_features for layer in model.layers]}"
    return type(model).__name__

  # -- coarse grids ------------------------------------------------------------------
  def _stride(self, level: int) -> int:
    return self.coarsening_factor ** (self.num_levels - 1 - level)

  def _axes(self, model) -> tuple[int, ...]:
    if self.grid_axes is not None:
      return self.grid_axes
    if isinstance(model, FNO):
      return tuple(range(1, 1 + len(model.modes)))
    raise ValueError(f"Multilevel: coarsening_factor={self.coarsening_factor} needs grid_axes for "
                     f"a {type(model).__name__} (only an FNO's grid axes are known)")

  def _check_grids(self, model) -> None:
    axes = self._axes(model)
    closed = isinstance(model, FNO) and model.grid == "closed"
    leaves = [a for a in jax.tree.leaves(self._full) if a.ndim > max(axes)]
    if not leaves:
      raise ValueError(f"Multilevel: no training data array has the grid axes {axes}")
    for level in range(self.num_levels):
      s = self._stride(level)
      for a in leaves:
        for axis in axes:
          n = a.shape[axis]
          if (n - closed) % s:
            raise ValueError(
                f"Multilevel: level {level} subsamples axis {axis} of the data (size {n}) by "
                f"{s}; expected {'n - 1' if closed else 'n'} divisible by {s} "
                f"(coarsening_factor={self.coarsening_factor}, {self.num_levels} levels)")
      if isinstance(model, FNO) and self.grow is None:
        modes = [m * self.modes_factor ** level for m in model.modes]
        n_grid = [(leaves[0].shape[axis] - closed) // s + closed for axis in axes]
        for i, (m, n) in enumerate(zip(modes, n_grid)):
          fits = m <= n // 2 + 1 if i == len(modes) - 1 else 2 * m <= n
          if not fits:
            raise ValueError(f"Multilevel: level {level} trains modes {tuple(modes)} on a grid of "
                             f"{tuple(n_grid)} points, which cannot hold modes[{i}]={m}; use "
                             "fewer modes at the start, a smaller coarsening_factor or fewer levels")

  def _set_data(self, learner) -> None:
    s = self._stride(self.level)
    axes = self._axes(learner.model)
    index = tuple(slice(None, None, s) if axis in axes else slice(None)
                  for axis in range(max(axes) + 1))
    data = self._full if s == 1 else jax.tree.map(
        lambda a: a[index] if a.ndim > max(axes) else a, self._full)
    # Not ``learner.data = ...``: that setter keeps shapes; a level's grid is
    # the one declared change of the data's shape (recompiled with the model).
    learner.state = learner.state.replace(data=data)

  def __repr__(self):
    return (f"Multilevel(levels={list(self.levels)}, width_factor={self.width_factor}, "
            f"extra_layers={self.extra_layers}, modes_factor={self.modes_factor}, "
            f"coarsening_factor={self.coarsening_factor})")
