"""Shared pieces of the loss-balancing callbacks (GradNorm, LRAnnealing, NTK).

Per-term losses and their gradients are computed in the callback's own
function compiled by ``learner.compile`` (``StateView.term_gradients``: one
``jax.jacrev`` of the stacked term vector gives every term's gradient), so the
training chunk is never touched. What is left here is the weights' bookkeeping.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from opifex_fit.callbacks.tensorboard import named_leaves


def check_terms_arg(terms, argname: str = "terms") -> tuple[str, ...] | None:
  """Constructor check: None (all terms) or a non-empty list of names."""
  if terms is None:
    return None
  if isinstance(terms, str):
    terms = (terms,)
  terms = tuple(terms) if isinstance(terms, Sequence) else None
  if not terms or not all(isinstance(t, str) and t for t in terms) or len(set(terms)) != len(terms):
    raise ValueError(f"{argname} must be None (all loss terms) or a list of distinct term "
                     f"names; got {terms!r}")
  return terms


def resolve_terms(learner, terms, who: str, available=None, min_terms: int = 1) -> tuple[str, ...]:
  """The terms a callback works on, checked against the learner's real ones."""
  real = tuple(learner.term_names() if available is None else available)
  chosen = real if terms is None else terms
  unknown = [t for t in chosen if t not in real]
  if unknown:
    raise ValueError(f"{who}: unknown loss term(s) {unknown}; the terms are {list(real)}")
  if len(chosen) < min_terms:
    raise ValueError(f"{who} balances at least {min_terms} loss terms; this fit has "
                     f"{list(chosen)} (terms={terms!r}, problem terms {list(real)})")
  return tuple(chosen)


def weight_vector(learner, names) -> jax.Array:
  return jnp.stack([learner.state.loss_weights[n] for n in names]).astype(jnp.float32)


def write_weights(learner, names, values) -> None:
  """New weights into the state: float32 scalars of each weight's own dtype (no recompile)."""
  old = learner.state.loss_weights
  new = dict(old, **{n: jnp.asarray(v, old[n].dtype) for n, v in zip(names, values)})
  learner.state = learner.state.replace(loss_weights=new)


def running_average(weights, target, momentum: float) -> jax.Array:
  """``momentum * w + (1 - momentum) * target``; a non-finite result keeps ``w``."""
  new = momentum * weights + (1.0 - momentum) * target
  return jnp.where(jnp.all(jnp.isfinite(new)), new, weights)


def apply_update(learner, names, new_weights, prefix: str, stats, target) -> None:
  """Writes the new weights and logs ``<prefix>_<stat>_<term>``/``<prefix>_target_<term>``
  (``stats = (stat name, values)``), with one device_get."""
  write_weights(learner, names, new_weights)
  stat_name, values = stats
  values, target = jax.device_get((values, target))
  for i, n in enumerate(names):
    learner.logs[f"{prefix}_{stat_name}_{n}"] = float(values[i])
    learner.logs[f"{prefix}_target_{n}"] = float(target[i])


def grad_norms(grads) -> jax.Array:
  """Per-term L2 norm over all selected leaves: ``(T,)``."""
  sq = [jnp.sum(g.reshape(g.shape[0], -1).astype(jnp.float32) ** 2, axis=1) for g in grads]
  return jnp.sqrt(sum(sq))


def parameter_paths(params) -> list[str]:
  """``"layers/2/kernel"``-style names of the parameter leaves, in leaf order."""
  return list(named_leaves(params))
