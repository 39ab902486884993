"""Batched collapsed Taylor mode: values, first derivatives along a few
directions and sums of second derivatives, pushed through a jaxpr in one pass.

``forward_taylor(fn, x, directions, groups)`` evaluates ``fn`` on the whole
batch ``x`` once and carries, for every intermediate value ``y``,

* ``jac[a] = dy[v_a]``: the first derivative along direction ``v_a`` (one
  tangent per direction, all points at once), and
* ``sec[k] = sum over (a, b) in groups[k] of d2y[v_a, v_b]``: collapsed
  second-order coefficients (Dangel et al. 2024, "Kronecker-factored... /
  Collapsing Taylor mode AD"; the forward Laplacian of Li et al. 2023 is the
  group ``[(s, s) for s in spatial]``).

Every direction is the same vector for every row, so for a function whose
output row ``n`` depends only on input row ``n`` (an MLP, any pointwise
model) ``jac`` and ``sec`` are exactly the per-point derivatives. Checking
that property is the caller's job (``PDEProblem`` does it once per model).

Rules, chosen for what XLA runs fastest on a batch:

* linear primitives (add, dot_general with a constant operand, reshapes,
  slicing, reductions, ...): the tangents go through the same linear map;
* elementwise primitives with one varying operand (tanh, sin, exp, ...):
  ``phi'`` and ``phi''`` come from one nested ``jvp`` on the values, then
  ``jac = phi' jac``, ``sec = phi' sec + phi'' sum jac_a jac_b``;
* bilinear primitives with two varying operands (mul, dot_general):
  the product rule, ``B(a, sec_b) + B(sec_a, b) + B(jac_a, jac_b) + B(jac_b, jac_a)``;
* calls (``jit``, ``custom_jvp_call``, ...) are entered;
* anything else goes through JAX's own ``jvp`` (nested for second order),
  so every differentiable primitive works, only less fast.

``nested_jvps`` gives the same results by forward-over-forward ``jvp`` per
direction pair (more flops, but faster on XLA:CPU in float32).

Example:
  >>> import jax.numpy as jnp
  >>> f = lambda x: jnp.sin(x[:, 0]) * x[:, 1] ** 2            # rows are points
  >>> x = jnp.array([[0.5, 2.0], [1.0, 3.0]])
  >>> e = jnp.eye(2)
  >>> y, jac, sec = forward_taylor(f, x, e, [[(0, 0), (1, 1)]])  # Laplacian
  >>> bool(jnp.allclose(sec[0], -jnp.sin(x[:, 0]) * x[:, 1] ** 2 + 2 * jnp.sin(x[:, 0])))
  True
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
from jax.extend import core as jex

_LINEAR = frozenset({
    "add", "sub", "add_any", "neg", "reshape", "broadcast_in_dim", "transpose", "squeeze",
    "expand_dims", "slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter-add",
    "scatter_add", "concatenate", "pad", "reduce_sum", "cumsum", "convert_element_type", "copy",
    "copy_p", "select_n", "rev", "real", "imag", "conj", "complex", "reduce_precision",
    "sharding_constraint", "fft"})
_BILINEAR = frozenset({"mul", "dot_general", "conv_general_dilated"})
_ELEMENTWISE = frozenset({
    "tanh", "sin", "cos", "tan", "exp", "exp2", "log", "log1p", "expm1", "logistic", "sqrt",
    "rsqrt", "cbrt", "integer_pow", "pow", "erf", "erfc", "erf_inv", "abs", "sign", "sinh",
    "cosh", "asinh", "acosh", "atanh", "asin", "acos", "atan", "atan2", "max", "min", "div",
    "square", "lgamma", "digamma"})
# Call-like primitives whose body is entered; the other primitives with
# sub-jaxprs (scan, while, cond) go through the generic rule.
_CALLS = frozenset({"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint",
                    "custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"})
_BODIES = ("jaxpr", "call_jaxpr", "fun_jaxpr")


class Jet(NamedTuple):
  """A value with its directional first derivatives and collapsed second ones."""
  primal: jax.Array
  jac: jax.Array           # (m, *primal.shape)
  sec: jax.Array | None    # (K, *primal.shape); None means zero


def forward_taylor(fn: Callable, x, directions, groups: Sequence[Sequence[tuple[int, int]]],
                   *, has_aux: bool = False):
  """``(y, jac, sec)`` (and ``aux`` if ``has_aux``) of ``fn`` at the batch ``x``.

  Args:
    fn: ``x -> y`` (or ``x -> (y, aux)``); ``y`` a float array.
    x: the batch, e.g. points ``(N, dim)``.
    directions: ``(m, *x.shape[1:])``; direction ``a`` is added to every row.
    groups: ``groups[k]`` lists direction pairs ``(a, b)`` whose second
      derivatives ``d2y[v_a, v_b]`` are summed into ``sec[k]``.
  Returns:
    ``y``, ``jac (m, *y.shape)``, ``sec (len(groups), *y.shape)``.
  """
  groups = tuple(tuple((int(a), int(b)) for a, b in g) for g in groups)
  closed, shapes = jax.make_jaxpr(fn, return_shape=True)(x)
  directions = jnp.asarray(directions, x.dtype)
  jac = jnp.broadcast_to(directions[:, None], (directions.shape[0],) + x.shape)
  outs = _eval(closed.jaxpr, closed.consts, [Jet(x, jac, None)], groups)
  first = outs[0]
  if not isinstance(first, Jet):  # y does not depend on x
    zeros = jnp.zeros((directions.shape[0],) + jnp.shape(first), jnp.result_type(first))
    first = Jet(first, zeros, None)
  sec = first.sec if first.sec is not None else \
      jnp.zeros((len(groups),) + first.primal.shape, first.primal.dtype)
  if not has_aux:
    return first.primal, first.jac, sec
  aux = [o.primal if isinstance(o, Jet) else o for o in outs[1:]]
  return first.primal, first.jac, sec, jax.tree.unflatten(jax.tree.structure(shapes[1]), aux)


def _eval(jaxpr, consts, args, groups):
  env = {}
  read = lambda v: v.val if isinstance(v, jex.Literal) else env[v]
  for v, c in zip(jaxpr.constvars, consts):
    env[v] = c
  for v, a in zip(jaxpr.invars, args):
    env[v] = a
  for eqn in jaxpr.eqns:
    ins = [read(v) for v in eqn.invars]
    outs = _apply(eqn, ins, groups)
    for v, o in zip(eqn.outvars, outs):
      env[v] = o
  return [read(v) for v in jaxpr.outvars]


def _apply(eqn, ins, groups) -> list:
  prim, params = eqn.primitive, eqn.params
  varying = [i for i, a in enumerate(ins) if isinstance(a, Jet)]
  primals = [a.primal if isinstance(a, Jet) else a for a in ins]
  if not varying or not all(_is_float(v.aval) for v in eqn.outvars):
    outs = prim.bind(*primals, **params)
    return list(outs) if prim.multiple_results else [outs]
  inner = next((params[k] for k in _BODIES if k in params), None) \
      if prim.name in _CALLS else None
  if inner is not None:
    closed = inner if hasattr(inner, "consts") else None
    jaxpr = closed.jaxpr if closed is not None else inner
    return _eval(jaxpr, closed.consts if closed is not None else (), ins, groups)
  name = prim.name
  if name in _BILINEAR and len(varying) == 2:
    return [_bilinear(prim, params, ins, varying, groups)]
  if name in _LINEAR or (name in _BILINEAR and len(varying) == 1) or (
      name == "div" and varying == [0]):
    return [_linear(prim, params, ins, varying)]
  if name in _ELEMENTWISE and len(varying) == 1 and \
      jnp.shape(primals[varying[0]]) == tuple(eqn.outvars[0].aval.shape):
    return [_elementwise(prim, params, ins, varying[0], groups)]
  return _generic(prim, params, ins, varying, groups)


def _is_float(aval) -> bool:
  return hasattr(aval, "dtype") and jnp.issubdtype(aval.dtype, jnp.inexact)


def _with(ins, varying, values):
  args = [a.primal if isinstance(a, Jet) else a for a in ins]
  for i, v in zip(varying, values):
    args[i] = v
  return args


def _rows_first(prim, params, varying, ndim) -> bool:
  """A ``dot_general`` whose varying left operand keeps its axis 0 as the
  output's axis 0: stacked tangents can then be merged into that axis."""
  if prim.name != "dot_general" or varying != [0] or ndim < 2:
    return False
  (lhs_contract, _), (lhs_batch, _) = params["dimension_numbers"]
  return not lhs_batch and 0 not in lhs_contract


def _linear(prim, params, ins, varying) -> Jet:
  """A map linear (affine) in its varying operands: tangents go through it."""
  args = _with(ins, varying, [])
  def g(*vals):
    return prim.bind(*_with(ins, varying, vals), **params)
  primal = prim.bind(*args, **params)
  dep = tuple(ins[i].primal for i in varying)
  if _rows_first(prim, params, varying, jnp.ndim(dep[0])):
    # One 2-D matmul for all directions ((m * N, w) @ W): XLA runs it faster
    # than the rank-3 product a vmap would give.
    def tangent(t):
      return g(t.reshape((-1,) + t.shape[2:])).reshape(t.shape[:2] + primal.shape[1:])
    jac = tangent(ins[0].jac)
    return Jet(primal, jac, None if ins[0].sec is None else tangent(ins[0].sec))
  tangent = lambda *ts: jax.jvp(g, dep, ts)[1]
  jac = jax.vmap(tangent)(*[ins[i].jac for i in varying])
  secs = [ins[i].sec for i in varying]
  if all(s is None for s in secs):
    return Jet(primal, jac, None)
  k = next(s.shape[0] for s in secs if s is not None)
  secs = [jnp.zeros((k,) + ins[i].primal.shape, ins[i].primal.dtype) if s is None else s
          for i, s in zip(varying, secs)]
  return Jet(primal, jac, jax.vmap(tangent)(*secs))


def _pair_sums(groups, product):
  """``stack_k sum_{(a, b) in groups[k]} product(a, b)``."""
  return jnp.stack([sum(product(a, b) for a, b in g) for g in groups])


def _elementwise(prim, params, ins, i, groups) -> Jet:
  x = ins[i]
  phi = lambda z: prim.bind(*_with(ins, [i], [z]), **params)
  ones = jnp.ones_like(x.primal)
  (y, d1), (_, d2) = jax.jvp(lambda z: jax.jvp(phi, (z,), (ones,)), (x.primal,), (ones,))
  jac = d1 * x.jac
  if not groups:
    return Jet(y, jac, None)
  sec = d2 * _pair_sums(groups, lambda a, b: x.jac[a] * x.jac[b])
  if x.sec is not None:
    sec = sec + d1 * x.sec
  return Jet(y, jac, sec)


def _bilinear(prim, params, ins, varying, groups) -> Jet:
  ia, ib = varying
  a, b = ins[ia], ins[ib]
  def bil(u, v):
    return prim.bind(*_with(ins, varying, [u, v]), **params)
  left, right = jax.vmap(bil, in_axes=(0, None)), jax.vmap(bil, in_axes=(None, 0))
  jac = right(a.primal, b.jac) + left(a.jac, b.primal)
  primal = bil(a.primal, b.primal)
  if not groups:
    return Jet(primal, jac, None)
  sec = _pair_sums(groups, lambda p, q: bil(a.jac[p], b.jac[q]) + bil(a.jac[q], b.jac[p]))
  if a.sec is not None:
    sec = sec + left(a.sec, b.primal)
  if b.sec is not None:
    sec = sec + right(a.primal, b.sec)
  return Jet(primal, jac, sec)


def _generic(prim, params, ins, varying, groups) -> list:
  """JAX's jvp, nested for second order: correct for any differentiable primitive."""
  def g(*vals):
    out = prim.bind(*_with(ins, varying, vals), **params)
    return tuple(out) if prim.multiple_results else (out,)
  dep = tuple(ins[i].primal for i in varying)
  primal = g(*dep)
  first = lambda ts: jax.jvp(g, dep, ts)[1]
  jacs = jax.vmap(first)(tuple(ins[i].jac for i in varying))
  secs = None
  if groups:
    def second(ta, tb):
      return jax.jvp(lambda *p: jax.jvp(g, p, ta)[1], dep, tb)[1]
    def pick(a):
      return tuple(ins[i].jac[a] for i in varying)
    secs = [jnp.stack(parts) for parts in zip(*[
        [sum(t) for t in zip(*[second(pick(a), pick(b)) for a, b in grp])] for grp in groups])]
    in_secs = [ins[i].sec for i in varying]
    if any(s is not None for s in in_secs):
      k = len(groups)
      filled = tuple(jnp.zeros((k,) + ins[i].primal.shape, ins[i].primal.dtype)
                     if s is None else s for i, s in zip(varying, in_secs))
      secs = [s + t for s, t in zip(secs, jax.vmap(first)(filled))]
  return [Jet(p, j, None if secs is None else s)
          if _is_float(jax.typeof(p) if hasattr(jax, "typeof") else p) else p
          for p, j, s in zip(primal, jacs, secs or [None] * len(primal))]


def nested_jvps(fn, x, directions, groups):
  """``(u, jac, sec, aux)`` as ``forward_taylor`` gives them, by forward-over-
  forward ``jvp`` on the whole batch: one nested pass per direction pair,
  whose inner ``jvp`` also gives ``u`` and the first derivative (so the
  model's plain call below is kept only for ``aux``)."""
  f = lambda y: fn(y)[0]
  tangents = [jnp.broadcast_to(d, x.shape) for d in directions]
  first, second, values = {}, {}, []

  def pair(a, b):
    if (a, b) not in second:
      inner = lambda y: jax.jvp(f, (y,), (tangents[a],))
      (u_a, first_a), (_, second[(a, b)]) = jax.jvp(inner, (x,), (tangents[b],))
      first.setdefault(a, first_a)
      values.append(u_a)
    return second[(a, b)]

  sec = [sum(pair(a, b) for a, b in group) for group in groups]
  for a, t in enumerate(tangents):
    if a not in first:
      first[a] = jax.jvp(f, (x,), (t,))[1]
  u, aux = fn(x)
  u = values[0] if values else u
  return u, jnp.stack([first[a] for a in range(len(tangents))]), jnp.stack(sec), aux
