"""Arithmetic of minibatches: passes over the data, and means over batches."""

from __future__ import annotations

import math

import jax


def steps_per_epoch(num_examples: int | None, batch_size: int | None) -> int:
  """Minibatches per pass; the last one wraps around instead of being dropped."""
  if batch_size is None:
    return 1
  return math.ceil(num_examples / batch_size)


def example_weighted_mean(results) -> dict:
  """The mean over examples of per-batch means: ``results`` yields
  ``(outputs, examples in the batch)``; exact for every mean-type loss."""
  totals, count = None, 0
  for out, w in results:
    totals = jax.tree.map(lambda o, w=w: o * w, out) if totals is None else \
        jax.tree.map(lambda t, o, w=w: t + o * w, totals, out)
    count += w
  if count == 0:
    raise ValueError("data: no examples to evaluate (the iterable yielded no batches)")
  return jax.tree.map(lambda t: t / count, totals)
