"""Snapshots of the training state that know their structure, and safe rollback.

A ``Snapshot`` is an on-device copy of ``learner.state`` together with the
structure it had (per TrainState field: tree structure, shapes, dtypes) and
the optimizer it belonged to. The state's structure changes during a fit:
``SwitchOptimizer`` replaces the optimizer state, ``Conservation(action=
"penalty")`` adds a loss weight, ``RARD`` enlarges the data buffer. Putting
an old snapshot back as a whole would then crash the next chunk (L-BFGS:
"The number of updates and states has to be the same in chain!"), fail on a
missing key, or silently hand Adam's moments to SGD. ``restore`` therefore
only puts back the fields whose structure still matches; every other field
keeps its current value, and the optimizer state of another optimizer is
started fresh from the restored parameters, as switching optimizers does.

Example:
  >>> import numpy as np
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> from opifex_fit.engine import snapshots
  >>> learner = of.Learner(of.models.MLP(1, [4, 1], rngs=nnx.Rngs(0)), of.Supervised())
  >>> snap = snapshots.take(learner)
  >>> snapshots.stale_fields(snap, learner)
  ()
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from opifex_fit.engine.optimizers import init_opt_state
from opifex_fit.engine.state import TrainState, copy_tree

# The TrainState fields, in declaration order.
FIELDS = tuple(TrainState.__dataclass_fields__)


class Snapshot(NamedTuple):
  """A device copy of the state, the step it was taken at and its structure."""

  state: TrainState
  step: int
  structure: dict[str, Any]
  optimizer: Any


def field_structure(tree) -> tuple:
  """Tree structure plus the shape and dtype of every leaf (hashable)."""
  leaves, treedef = jax.tree.flatten(tree)
  return treedef, tuple((tuple(a.shape), str(a.dtype)) for a in leaves)


def structure_of(state: TrainState) -> dict[str, Any]:
  return {f: field_structure(getattr(state, f)) for f in FIELDS}


def take(learner) -> Snapshot:
  """A copy of ``learner.state`` that survives the donation of the next chunk."""
  state = learner.state
  return Snapshot(copy_tree(state), int(learner.step), structure_of(state), learner.optimizer)


def stale_fields(snapshot: Snapshot, learner) -> tuple[str, ...]:
  """The fields of ``snapshot`` that no longer fit ``learner.state``; the
  optimizer state also counts as stale when the optimizer was replaced."""
  now = structure_of(learner.state)
  stale = [f for f in FIELDS if now[f] != snapshot.structure[f]]
  if snapshot.optimizer is not learner.optimizer and "opt_state" not in stale:
    stale.append("opt_state")
  return tuple(stale)


def restore(learner, snapshot: Snapshot, *, keep=(), **replace) -> tuple[str, ...]:
  """Puts the snapshot back into ``learner.state``; returns the stale fields.

  Fields in ``keep`` (e.g. step counters) and stale fields keep their current
  value, except a stale ``opt_state``, which is the current optimizer's fresh
  state of the restored parameters. ``replace`` overrides fields last.
  """
  stale = stale_fields(snapshot, learner)
  now = learner.state
  # A copy: the snapshot must survive the donation of the next chunk.
  fields = {f: getattr(now, f) for f in (*keep, *stale)}
  state = copy_tree(snapshot.state).replace(**fields)
  if "opt_state" in stale:
    state = state.replace(opt_state=init_opt_state(learner.optimizer, state.params))
  learner.state = state.replace(**replace)
  return stale
