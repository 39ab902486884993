"""Checking fit arguments and planning the loop: batches, epochs, chunk length.

Everything here runs on the host before anything compiles, so a bad argument
costs nothing but a clear message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import jax
import numpy as np

MAX_CHUNK = 1000  # longest scan; keeps progress/history readable and latency low


def positive_int(value, name: str, *, allow_none: bool = True) -> int | None:
  if value is None and allow_none:
    return None
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''};"
                     f" got {value!r}")
  return int(value)


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


def steps_per_epoch(num_examples: int | None, batch_size: int | None) -> int:
  """Minibatches per pass; the last one wraps around instead of being dropped."""
  if batch_size is None:
    return 1
  return math.ceil(num_examples / batch_size)


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


def total_steps(steps, epochs, spe: int | None) -> int:
  steps = positive_int(steps, "steps")
  epochs = positive_int(epochs, "epochs")
  if (steps is None) == (epochs is None):
    raise ValueError(f"pass exactly one of steps= and epochs=; got steps={steps!r}, "
                     f"epochs={epochs!r}")
  if steps is None and spe is None:
    raise ValueError(f"epochs={epochs} needs a known epoch length, but this iterable of "
                     "batches has no len(); pass steps=, or of.Batches(iterable, "
                     "steps_per_epoch=...)")
  return steps if steps is not None else epochs * spe


def chunk_length(cadences: Iterable[int], total: int, requested, cap: int = MAX_CHUNK) -> int:
  """The scan length K: every cadence is a multiple of K (so no callback ever
  needs a step inside a chunk), capped at ``cap`` (at most ``MAX_CHUNK``)."""
  if requested != "auto":
    return positive_int(requested, "steps_per_execution", allow_none=False)
  cadences = [c for c in cadences if c]
  g = math.gcd(*cadences) if cadences else total
  cap = min(MAX_CHUNK, cap, g)
  # The largest divisor of g not above the cap keeps every cadence aligned.
  k = max(d for d in range(1, cap + 1) if g % d == 0)
  if not cadences and k < cap // 4:
    return cap  # nothing to align with (e.g. a prime step count): a shorter last chunk
  return k


def chunk_steps(step: int, chunk: int, target: int) -> int:
  """Steps of the chunk starting at ``step``: up to the next multiple of
  ``chunk`` (where cadences line up), never past ``target``."""
  return min(chunk - step % chunk, target - step)


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
