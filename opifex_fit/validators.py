"""Argument checks shared by the learner, the loop, the inputs and the callbacks.

Each raises ``ValueError``/``TypeError`` naming the argument, the value and
what was expected, and runs on the host before anything compiles.
"""

from __future__ import annotations

import math

import jax
import numpy as np


def positive_int(value, name: str, *, allow_none: bool = True) -> int | None:
  if value is None and allow_none:
    return None
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''};"
                     f" got {value!r}")
  return int(value)


def check_bool(value, name: str) -> bool:
  """``value`` if it is a bool (``True``/``False``, not 1 or "yes"), else a TypeError naming it."""
  if not isinstance(value, bool):
    raise TypeError(f"{name} must be a bool; got {value!r}")
  return value


def nonnegative_float(value, name: str) -> float:
  """A finite float >= 0 (Python or numpy number, or a 0-d array), as float."""
  if isinstance(value, (bool, np.bool_, str, bytes)) or not hasattr(value, "__float__") \
      or np.ndim(value) != 0:
    raise TypeError(f"{name} must be a non-negative float; got {value!r} of type "
                    f"{type(value).__name__}")
  number = float(value)
  if not math.isfinite(number) or number < 0:
    raise ValueError(f"{name} must be a non-negative float; got {value!r} (expected a "
                     "finite number >= 0)")
  return number


def check_number(value, name: str, *, positive: bool = False) -> float:
  """A finite float >= 0 (> 0 if ``positive``), else ValueError naming ``name``."""
  ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
  if not ok or not np.isfinite(value) or value < 0 or (positive and value == 0):
    want = "a finite number > 0" if positive else "a finite number >= 0"
    raise ValueError(f"{name} must be {want}; got {value!r}")
  return float(value)


def check_batch_size(batch_size, num_examples: int | None, argname: str = "data") -> int | None:
  batch_size = positive_int(batch_size, "batch_size")
  if batch_size is None:
    return None
  if num_examples is None:
    raise ValueError(
        f"batch_size={batch_size} needs {argname} whose arrays share one leading "
        "(example) dimension; this data has parts of different lengths (e.g. PDE "
        "collocation sets), so pass batch_size=None for full-batch training")
  if batch_size > num_examples:
    raise ValueError(f"batch_size={batch_size} is larger than the {num_examples} "
                     f"examples in {argname}; expected batch_size <= {num_examples}")
  return batch_size


def check_same_structure(new, old, argname: str) -> None:
  """Refuses data that would change the compiled chunk's shapes or dtypes."""
  new_def, old_def = jax.tree.structure(new), jax.tree.structure(old)
  if new_def != old_def:
    raise ValueError(f"{argname} must have the structure {old_def}; got {new_def}")
  for path_and_leaf, old_leaf in zip(jax.tree_util.tree_leaves_with_path(new),
                                     jax.tree.leaves(old)):
    path, leaf = path_and_leaf
    dtype = leaf.dtype if hasattr(leaf, "dtype") else np.asarray(leaf).dtype
    if np.shape(leaf) != old_leaf.shape or dtype != old_leaf.dtype:
      raise ValueError(
          f"{argname}{jax.tree_util.keystr(path)} must keep shape {old_leaf.shape} "
          f"and dtype {old_leaf.dtype} (changing them would recompile); got shape "
          f"{np.shape(leaf)} dtype {dtype}")
