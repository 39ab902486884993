"""Weights on disk, and the pytree conventions every opifex-fit checkpoint follows.

``save_weights(model_or_learner, path)`` writes the model's variables (all of
``nnx.state(model)``: parameters and other state such as batch statistics) as
one Orbax ``StandardCheckpointer`` directory; ``load_weights(model, path)``
puts them back into a model (or learner) of the same architecture.

On-disk layout of ``path`` (plain Orbax reads it without opifex-fit)::

  path/                 an Orbax PyTree checkpoint of a pure nested dict,
                        nnx.to_pure_dict(nnx.state(model)): {"layers": {"0":
                        {"kernel": f32[1,32], "bias": f32[32]}, ...}}
                        (PRNG keys are stored as their uint32 key data)

  >>> import orbax.checkpoint as ocp                            # doctest: +SKIP
  >>> tree = ocp.StandardCheckpointer().restore("/abs/path")    # doctest: +SKIP
  >>> nnx.replace_by_pure_dict(state := nnx.state(model), tree); nnx.update(model, state)  # doctest: +SKIP

Example:
  >>> import os, tempfile
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> from opifex_fit.persistence.saving import save_weights, load_weights
  >>> path = os.path.join(tempfile.mkdtemp(), "weights")
  >>> path = save_weights(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), path)
  >>> model = load_weights(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(1)), path)
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax import nnx

from opifex_fit.engine.state import TrainState, copy_tree


# -- pytree conventions shared with the Checkpoint callback -------------------------
def is_key(leaf) -> bool:
  return hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def keys_to_data(tree):
  """Typed PRNG keys -> their uint32 key data (what Orbax can write)."""
  return jax.tree.map(lambda a: jax.random.key_data(a) if is_key(a) else a, tree)


def to_disk(tree):
  """What a checkpoint stores: keys as key data; empty arrays (which Orbax
  refuses and which hold nothing) as None."""
  return jax.tree.map(lambda a: None if a.size == 0 else a, keys_to_data(tree))


def from_disk(restored, like):
  """Inverse of ``to_disk``, with ``like`` (the tree passed to ``to_disk``)
  giving back the empty arrays and the key types."""
  stored = iter(jax.tree.leaves(restored))
  leaves, treedef = jax.tree.flatten(like)
  out = []
  for ref in leaves:
    if ref.size == 0:
      out.append(ref)
    elif is_key(ref):
      out.append(jax.random.wrap_key_data(next(stored), impl=jax.random.key_impl(ref)))
    else:
      out.append(next(stored))
  return jax.tree.unflatten(treedef, out)


def path_str(path) -> str:
  """``layers/0/kernel``: the same string for list indices and the string
  keys Orbax restores them as."""
  return jax.tree_util.keystr(path, simple=True, separator="/")


def structure(tree) -> dict[str, str]:
  """``{path: "float32[32,32]"}`` for every array leaf (keys as key data)."""
  out = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(keys_to_data(tree)):
    dims = ",".join(str(d) for d in leaf.shape)
    out[path_str(path)] = f"{jnp.dtype(leaf.dtype).name}[{dims}]"
  return out


def differences(saved: dict[str, str], current: dict[str, str], limit: int = 6) -> list[str]:
  """Human-readable differences between two ``structure`` summaries."""
  lines = []
  for path in sorted(set(saved) | set(current)):
    s, c = saved.get(path), current.get(path)
    if s == c:
      continue
    if s is None:
      lines.append(f"{path}: {c} now, absent in the checkpoint")
    elif c is None:
      lines.append(f"{path}: {s} in the checkpoint, absent now")
    else:
      lines.append(f"{path}: {s} in the checkpoint, {c} now")
  if len(lines) > limit:
    lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
  return lines


def _path(path, argname: str) -> str:
  if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
    raise TypeError(f"{argname} must be a non-empty path (str or os.PathLike); got {path!r}")
  return os.path.abspath(os.fspath(path))  # Orbax wants absolute paths


def _is_learner(obj) -> bool:
  """A Learner, recognised by its training state (importing the class here
  would make persistence and the learner import each other)."""
  return isinstance(getattr(obj, "state", None), TrainState) and hasattr(obj, "model")


def _model_of(obj, argname: str):
  if _is_learner(obj):
    return obj.model
  if isinstance(obj, nnx.Module):
    return obj
  raise TypeError(f"{argname} must be a flax.nnx.Module or an opifex_fit Learner;"
                  f" got {type(obj).__name__}")


# -- weights only ------------------------------------------------------------------
def save_weights(model, path, *, overwrite: bool = False) -> str:
  """Writes the variables of ``model`` (an ``nnx.Module`` or a ``Learner``) to
  ``path`` (a new directory; written atomically by Orbax). Returns the
  absolute path. An existing ``path`` is refused unless ``overwrite=True``."""
  path = _path(path, "path")
  module = _model_of(model, "model")
  if os.path.exists(path) and not overwrite:
    raise ValueError(f"path={path!r} already exists; pass overwrite=True to replace it "
                     "or choose a new path")
  tree = to_disk(nnx.to_pure_dict(nnx.state(module)))
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(path, tree, force=overwrite)
    checkpointer.wait_until_finished()
  return path


def load_weights(model, path):
  """Loads what ``save_weights`` wrote into ``model`` (an ``nnx.Module`` or a
  ``Learner``, whose training state then holds the loaded weights) and returns
  it. A model of another architecture is refused with the differing arrays."""
  path = _path(path, "path")
  if not os.path.isdir(path):
    raise ValueError(f"path={path!r} is not a directory written by save_weights")
  module = _model_of(model, "model")
  state = nnx.state(module)
  pure = nnx.to_pure_dict(state)
  current = to_disk(pure)
  with ocp.StandardCheckpointer() as checkpointer:
    saved_meta = checkpointer.metadata(path).item_metadata
    saved = {path_str(p): f"{jnp.dtype(m.dtype).name}[{','.join(map(str, m.shape))}]"
             for p, m in jax.tree_util.tree_leaves_with_path(saved_meta)}
    diff = differences(saved, structure(current))
    if diff:
      raise ValueError(f"the weights at {path!r} belong to another architecture:\n  "
                       + "\n  ".join(diff))
    restored = checkpointer.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, current))
  nnx.replace_by_pure_dict(state, from_disk(restored, pure))
  nnx.update(module, state)
  if _is_learner(model):
    _, params, rest = nnx.split(module, nnx.Param, ...)
    # Copies: the learner donates its state to the next chunk.
    model.state = model.state.replace(params=copy_tree(params), rest=copy_tree(rest))
  return model
