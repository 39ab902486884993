"""Evaluating a PDE model on batches of points: the model as a pure batched
function, the check that it is pointwise, and conditions evaluated batched.

The batched derivative engine runs the model once on all points, so it is
exact only when output row ``n`` depends on input row ``n`` alone. An MLP,
FNO-free embeddings, Dropout and BatchNorm in eval mode are; BatchNorm in
training mode or attention over points are not. ``check_pointwise`` proves
it numerically once per model (a tangent on one row must leave the others
exactly zero) and refuses the rest with a clear error.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def pure_batch_fn(model, transform: Callable):
  """``(fn, finish)``: ``fn(x) -> (u, new_state)`` is pure in the model's
  variables (Dropout's RNG counts and other state come out as values, so
  ``jvp``/``make_jaxpr`` never mutate the module across traces);
  ``finish(new_state)`` writes them back into ``model`` when they changed
  (inside the learner's step, where the model lives in the same trace)."""
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)

  def fn(x):
    m = nnx.merge(graphdef, params, rest, copy=True)  # fresh Variables: mutable here
    u = transform(x, m(x))
    return u, nnx.split(m, nnx.Param, ...)[2]

  def finish(new_rest):
    old, new = jax.tree.leaves(rest), jax.tree.leaves(new_rest)
    if len(old) == len(new) and all(a is b for a, b in zip(old, new)):
      return  # nothing changed (fixed variables, eval mode): nothing to write
    nnx.update(model, new_rest)

  return fn, finish


def check_pointwise(fn: Callable, points) -> None:
  """Refuses a model whose output at one point depends on other points.

  First a structural proof on the jaxpr (no compilation: ``rows_independent``);
  only when it is inconclusive, a numerical one: a tangent on one row must
  leave every other row's output exactly zero.
  """
  points = np.asarray(points)
  closed = jax.make_jaxpr(lambda x: fn(x)[0])(points)
  if rows_independent(closed.jaxpr, points.shape[0]):
    return
  tangent = np.zeros_like(points)
  tangent[0] = 1.0
  probe = jax.jit(lambda x: jax.jvp(lambda y: fn(y)[0], (x,), (tangent,))[1])
  leak = np.abs(np.asarray(probe(points))[1:])
  if leak.size and not np.all(leak == 0):
    raise ValueError(
        "model: its output at one point depends on the other points of the batch (e.g. "
        "BatchNorm in training mode, attention or pooling over points); PDE derivatives "
        "must be taken point by point. Use a pointwise model (LayerNorm, BatchNorm with "
        "use_running_average=True), or PDEProblem(..., derivatives='pointwise') to run "
        f"the model on one point at a time (max cross-point derivative {leak.max():.3g})")


# Primitives that act on each element alone (any operand may vary).
_ELEMENTWISE = frozenset({
    "add", "sub", "mul", "div", "neg", "max", "min", "pow", "integer_pow", "square", "sqrt",
    "rsqrt", "cbrt", "exp", "exp2", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos",
    "tan", "sinh", "cosh", "asinh", "acosh", "atanh", "asin", "acos", "atan", "atan2", "erf",
    "erfc", "erf_inv", "abs", "sign", "select_n", "convert_element_type", "copy", "copy_p",
    "stop_gradient", "is_finite", "ne", "eq", "lt", "le", "gt", "ge", "and", "or", "not",
    "clamp", "floor", "ceil", "round", "nextafter", "lgamma", "digamma", "rem"})
_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax",
                         "argmin", "reduce_and", "reduce_or"})


def rows_independent(jaxpr, n: int) -> bool:
  """True when the jaxpr provably maps row ``i`` of its first input to row
  ``i`` of its first output alone; False when it cannot tell."""
  rows = {jaxpr.invars[0]}  # values whose axis 0 is the point axis, unmixed
  varying = {jaxpr.invars[0]}
  for eqn in jaxpr.eqns:
    ins = [v for v in eqn.invars if not isinstance(v, jax.extend.core.Literal)]
    moving = [v for v in ins if v in varying]
    if not moving:
      continue
    if not all(v in rows for v in moving) or not _keeps_rows(eqn, moving, n):
      return False
    rows.update(eqn.outvars)
    varying.update(eqn.outvars)
  out = jaxpr.outvars[0]
  return out in rows or out not in varying


def _keeps_rows(eqn, moving, n) -> bool:
  name, params = eqn.primitive.name, eqn.params
  shape = lambda v: tuple(v.aval.shape)
  if any(len(shape(o)) == 0 or shape(o)[0] != n for o in eqn.outvars):
    return False
  if name in _ELEMENTWISE:
    return all(shape(v)[:1] == (n,) for v in moving)
  if name == "dot_general":
    (lc, _), (lb, _) = params["dimension_numbers"]
    return moving == [eqn.invars[0]] and not lb and 0 not in lc
  if name in _REDUCTIONS:
    return 0 not in params["axes"]
  if name == "broadcast_in_dim":
    dims = params["broadcast_dimensions"]
    return bool(dims) and dims[0] == 0 and shape(moving[0])[0] == n
  if name in ("reshape", "squeeze", "expand_dims"):
    return shape(moving[0])[0] == n and (name != "squeeze" or 0 not in params["dimensions"])
  if name == "transpose":
    return params["permutation"][0] == 0
  if name == "concatenate":
    return params["dimension"] != 0
  if name in ("jit", "pjit", "closed_call", "custom_jvp_call", "custom_vjp_call"):
    inner = next((params[k] for k in ("jaxpr", "call_jaxpr") if k in params), None)
    inner = getattr(inner, "jaxpr", inner)
    return inner is not None and moving == [eqn.invars[0]] and len(eqn.outvars) == 1 and \
        rows_independent(inner, n)
  return False


def condition_residuals(cond, evaluate: Callable, points, domain, u_aval):
  """``cond``'s residuals at ``points (n, dim)`` with batched model evaluations.

  Conditions are written for one point, calling ``ev(x, keys) -> (u, d)``
  (PeriodicBC twice: at ``x`` and at its partner). A first abstract pass
  records the query points and keys per call; each query is then evaluated
  for all points at once by ``evaluate(queries, keys) -> (u, d)``; a second
  pass replays the condition with those values.
  """
  keys_per_call = []

  def record(x):
    queries = []
    def ev(q, keys):
      queries.append(q)
      keys_per_call.append(frozenset(keys))
      zeros = jnp.zeros(u_aval.shape, u_aval.dtype)
      return zeros, {k: zeros for k in keys}
    cond.residual(ev, x, domain)
    return queries

  queries = jax.vmap(record)(points)
  values = [evaluate(q, k) for q, k in zip(queries, keys_per_call)]

  def replay(x, vals):
    calls = iter(vals)
    return cond.residual(lambda q, keys: next(calls), x, domain)

  return jax.vmap(replay)(points, values)
