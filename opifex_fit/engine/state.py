"""TrainState: everything the jitted chunk reads and writes, as one pytree.

Every field a callback may change between chunks (loss weights, lr scale,
training data, RNG) is a device array with a fixed shape and dtype, so writing
a new value never recompiles the chunk. The learner donates the state to the
chunk, so a reference to an old state's arrays is invalid after the next chunk:
copy (``jax.tree.map(jnp.copy, ...)``) what you want to keep.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class TrainState:
  """The whole training state.

  Attributes:
    params: ``nnx.State`` of the model's ``nnx.Param`` variables (trained).
    rest: ``nnx.State`` of every other model variable (batch stats, RNG
      counters); carried through the step, never differentiated.
    opt_state: the optax state.
    step: global optimizer steps done (int32 scalar).
    rng: PRNG key; the chunk derives per-step keys from it with ``fold_in``
      and callbacks split it through ``learner.next_key()``.
    loss_weights: term -> scalar of ``float_dtype(params)``.
    lr_scale: scalar of ``float_dtype(params)`` multiplying every optimizer
      update.
    data: the training data pytree (collocation points live here).
    skipped: int32 count of updates skipped because they were non-finite.
    epoch: int32 epochs completed in the current data pass.
    batch_pos: int32 index of the next minibatch in the current permutation.
    perm: int32 example order of the current epoch (length = batches * batch
      size; empty for full-batch data).
    hooks: step-hook name -> that hook's device state
      (``opifex_fit.engine.step_hooks``); empty without in-step callbacks.
  """

  params: Any
  rest: Any
  opt_state: Any
  step: jax.Array
  rng: jax.Array
  loss_weights: dict
  lr_scale: jax.Array
  data: Any
  skipped: jax.Array
  epoch: jax.Array
  batch_pos: jax.Array
  perm: jax.Array
  hooks: dict = struct.field(default_factory=dict)


def scalar(value, dtype) -> jax.Array:
  """A device scalar of exactly ``dtype`` (never weakly typed: no recompiles)."""
  return jnp.asarray(value, dtype=dtype)


def float_dtype(params) -> jnp.dtype:
  """The float dtype of the training scalars (loss weights, ``lr_scale``, the
  chunk's metrics): the parameters' float dtype, at least float32. So float64
  weights train with float64 losses end to end, and bfloat16 weights never
  get bfloat16 loss weights or metric sums (they would lose digits)."""
  dtypes = [a.dtype for a in jax.tree.leaves(params) if jnp.issubdtype(a.dtype, jnp.floating)]
  return jnp.dtype(jnp.promote_types(jnp.result_type(jnp.float32, *dtypes), jnp.float32))


def copy_tree(tree):
  """A copy that survives the donation of the original's buffers (a device
  copy that keeps the sharding and compiles nothing, unlike ``jnp.array``)."""
  def copy(a):
    if getattr(a, "weak_type", False):  # the chunk returns strong types: else a retrace
      return jnp.array(a, dtype=a.dtype, copy=True)
    if isinstance(a, jax.Array):  # same placement, committed or not (else: a recompile)
      target = None if a.is_fully_addressable else a.sharding
      return jax.device_put(a, target, may_alias=False)
    return jnp.array(a, copy=True)
  return jax.tree.map(copy, tree)


def initial_state(params, rest, opt_state, *, seed: int, weights) -> TrainState:
  """The state before the first fit: step 0, ``weights`` (term -> number)
  as loss weights and ``lr_scale`` 1 in ``float_dtype(params)``, no data."""
  dtype = float_dtype(params)
  return TrainState(
      params=copy_tree(params), rest=copy_tree(rest), opt_state=opt_state,
      step=scalar(0, jnp.int32), rng=jax.random.key(seed),
      loss_weights={t: scalar(w, dtype) for t, w in weights.items()},
      lr_scale=scalar(1.0, dtype), data=None, skipped=scalar(0, jnp.int32),
      epoch=scalar(0, jnp.int32), batch_pos=scalar(0, jnp.int32), perm=jnp.zeros((0,), jnp.int32))
