"""How callback states go into a checkpoint and come back (used by Checkpoint).

Each callback is keyed ``"<ClassName>_<index among callbacks of that class>"``.
Its ``state_dict()`` goes into the JSON item ``callbacks``; its
``device_state()`` (arrays, e.g. EarlyStopping's best weights), when not None,
into its own Orbax PyTree item ``device_<key>``, listed in the metadata under
``device_states``. On a resume the arrays are read into the structure of the
callback's ``device_state_like(learner)`` and handed to ``load_device_state``.
"""

from __future__ import annotations

import json

import jax
import orbax.checkpoint as ocp

from opifex_fit.persistence import saving
from opifex_fit.engine.state import copy_tree


def keyed(callbacks) -> dict:
  """``{"EarlyStopping_0": callback, ...}``: the class name and the index among
  callbacks of that class (stable when other callbacks come or go)."""
  seen, out = {}, {}
  for c in callbacks:
    name = type(c).__name__
    out[f"{name}_{seen.get(name, 0)}"] = c
    seen[name] = seen.get(name, 0) + 1
  return out


def json_states(callbacks) -> dict:
  """Every callback's ``state_dict()``, checked to be JSON-able."""
  out = {}
  for key, c in keyed(callbacks).items():
    state = c.state_dict()
    try:
      json.dumps(state)
    except (TypeError, ValueError) as e:
      raise TypeError(f"{type(c).__name__}.state_dict() must return JSON-able values "
                      f"(numbers, strings, lists, dicts); got {state!r}: {e}") from e
    out[key] = state
  return out


def device_save_args(callbacks) -> dict:
  """``{"device_<key>": StandardSave}`` for each callback with a device state;
  copies, as stored (they are written in the background)."""
  out = {}
  for key, c in keyed(callbacks).items():
    tree = c.device_state()
    if tree is not None:
      out[f"device_{key}"] = ocp.args.StandardSave(copy_tree(saving.to_disk(tree)))
  return out


def saved_keys(save_args: dict) -> list[str]:
  """The callback keys of ``device_save_args`` (for the metadata)."""
  return sorted(name[len("device_"):] for name in save_args)


def device_restore_args(learner, saved) -> tuple[dict, dict]:
  """``(likes, args)``: what to read for the saved device states (``saved``:
  the metadata's ``device_states``) that a callback of this fit takes."""
  likes, args = {}, {}
  for key, c in keyed(learner.callbacks).items():
    like = c.device_state_like(learner)
    if key in saved and like is not None:
      target = jax.tree.map(ocp.utils.to_shape_dtype_struct, saving.to_disk(like))
      likes[key], args[f"device_{key}"] = like, ocp.args.StandardRestore(target)
  return likes, args


def load_device_states(learner, likes: dict, restored) -> None:
  callbacks = keyed(learner.callbacks)
  for key, like in likes.items():
    callbacks[key].load_device_state(saving.from_disk(restored[f"device_{key}"], like))
