"""The derivative engine: exactly the derivatives a residual reads, forward mode.

A residual is written for one point as ``residual(x, u, d)``; ``d`` maps keys
to derivatives of ``u`` at ``x``: ``d["x"]`` (first), ``d["xx"]`` (second),
``d["xy"]`` (mixed, either order), ``d["laplacian"]`` (sum of the second
derivatives over the spatial coordinates, i.e. all but ``t``). Vector outputs
give vectors of the same shape as ``u``.

How it stays fast (no nested reverse mode, no Hessians):

1. *Discovery.* The residual is first traced abstractly (``jax.eval_shape``)
   with a recording mapping, which learns the keys it reads.
2. *Collapsing.* If the residual reads every spatial ``d["cc"]`` but only
   through their sum (``d["xx"] + d["yy"]``, ``nu * (d["xx"] + d["yy"])``,
   also under slicing of vector outputs), a small jaxpr pass proves it and
   the keys are served from one Laplacian: ``d["xx"] = laplacian``,
   ``d["yy"] = 0``. So ``d["xx"] + d["yy"]`` costs exactly ``d["laplacian"]``.
3. *Computing.* Laplacians use folx's forward Laplacian over the spatial
   coordinates; individual ``d["cc"]`` use second-order Taylor mode
   (``jax.experimental.jet``) vmapped over directions, so the primal is
   computed once (nested ``jvp`` if an op has no jet rule); first derivatives
   use ``jvp`` along the needed coordinates only; mixed entries use
   forward-over-forward ``jvp``.

Example:
  >>> import jax.numpy as jnp
  >>> from opifex_fit.problems.derivatives import Derivatives
  >>> eng = Derivatives(("x", "y"))
  >>> f = lambda p: jnp.sin(p[0]) * p[1] ** 2
  >>> keys = eng.discover(lambda x, u, d: d["xx"] + d["yy"], jnp.zeros(2), jnp.zeros(()))
  >>> u, d = eng.evaluate(f, jnp.array([0.0, 1.0]), keys)
  >>> float(d["xx"] + d["yy"])                       # -sin(0)*1 + 2 sin(0)
  0.0
"""

from __future__ import annotations

from typing import Callable, Mapping

import folx
import jax
import jax.numpy as jnp
from jax.experimental.jet import jet

LAPLACIAN = "laplacian"
# Ops that map a value linearly and identically whatever it is (so applying
# them to d["xx"] and d["yy"] and then adding is applying them to the sum).
_STRUCTURAL = {"convert_element_type", "reshape", "squeeze", "expand_dims", "broadcast_in_dim",
               "slice", "dynamic_slice", "gather", "transpose", "copy", "copy_p", "reduce_sum",
               "rev"}


class Derivatives:
  """Derivative keys for named coordinates, their discovery and evaluation."""

  def __init__(self, names: tuple[str, ...], time: str = "t"):
    self.names = tuple(names)
    self.spatial = tuple(n for n in self.names if n != time)
    self.keys: dict[str, tuple[int, ...]] = {}
    for i, a in enumerate(self.names):
      self._add(a, (i,))
      for j, b in enumerate(self.names):
        self._add(a + b, tuple(sorted((i, j))))
    self.keys[LAPLACIAN] = ()

  def _add(self, key: str, spec: tuple[int, ...]) -> None:
    if self.keys.get(key, spec) != spec:
      raise ValueError(f"derivative key {key!r} is ambiguous for coordinates {list(self.names)};"
                       " rename the coordinates")
    self.keys[key] = spec

  def check_key(self, key) -> None:
    if key not in self.keys:
      raise ValueError(f"the residual reads derivative d[{key!r}], which does not exist; the"
                       f" coordinates are {list(self.names)}, so valid keys are e.g. "
                       f"{sorted(self.keys, key=len)[:12]} (first and second derivatives and"
                       f" {LAPLACIAN!r})")
    if key == LAPLACIAN and not self.spatial:
      raise ValueError(f"d[{LAPLACIAN!r}] needs a spatial coordinate; the domain has only"
                       f" {list(self.names)}")

  # -- discovery --------------------------------------------------------------
  def discover(self, fn: Callable, x, u) -> frozenset:
    """Keys ``fn(x, u, d)`` reads (abstract trace; ``x``, ``u`` may be shapes)."""
    recorder = _Recorder(self, jax.ShapeDtypeStruct(jnp.shape(u), jnp.result_type(u)))
    jax.eval_shape(lambda x_, u_: fn(x_, u_, recorder), x, u)
    return frozenset(recorder.read)

  def collapsible(self, fn: Callable, x, u, keys: frozenset) -> bool:
    """True if ``fn`` reads all spatial ``d["cc"]`` and only through their sum."""
    diag = {c + c for c in self.spatial}
    if len(self.spatial) < 2 or not diag <= keys:  # 1-D: d["xx"] already is the Laplacian.
      return len(self.spatial) == 1 and diag <= keys
    order = sorted(keys)
    aval = jax.ShapeDtypeStruct(jnp.shape(u), jnp.result_type(u))
    def g(x_, u_, *vals):
      return fn(x_, u_, _Fixed(self, dict(zip(order, vals))))
    closed = jax.make_jaxpr(g)(x, u, *[aval] * len(order))
    invars = closed.jaxpr.invars[2:]
    seeds = {v: ((), {k: 1.0}) for v, k in zip(invars, order) if k in diag}
    return _only_through_sum(closed.jaxpr, seeds, diag)

  # -- evaluation -------------------------------------------------------------
  def evaluate(self, f: Callable, x, keys, collapse: bool = False):
    """``(u, d)`` at one point for ``f: (dim,) -> u``; ``d`` holds ``keys`` only."""
    keys = frozenset(keys)
    specs = {k: self.keys[k] for k in keys}
    firsts = sorted({s[0] for s in specs.values() if len(s) == 1})
    diag_keys = {self.spatial_key(c) for c in self.spatial}
    need_lap = LAPLACIAN in keys or (collapse and bool(diag_keys & keys))
    diags = sorted({s[0] for k, s in specs.items() if len(s) == 2 and s[0] == s[1]
                    and not (collapse and k in diag_keys)})
    mixed = sorted({s for s in specs.values() if len(s) == 2 and s[0] != s[1]})
    sp_idx = [self.names.index(c) for c in self.spatial]
    out, u = {}, None
    if need_lap and not diags:
      u, jac, lap = _forward_laplacian(f, x, sp_idx)
      out[LAPLACIAN] = lap
      for i in firsts:
        if i in sp_idx:
          out[i] = jac[sp_idx.index(i)]
      rest = [i for i in firsts if i not in sp_idx]
    else:
      if need_lap:
        diags = sorted(set(diags) | set(sp_idx))
      rest = [i for i in firsts if i not in diags]
      if diags:
        u, d1, d2 = _taylor2(f, x, diags)
        for n, i in enumerate(diags):
          out[i], out[(i, i)] = d1[n], d2[n]
        if need_lap:
          out[LAPLACIAN] = sum(out[(i, i)] for i in sp_idx)
    if rest:
      u, d1 = _jvps(f, x, rest)
      out.update({i: d1[n] for n, i in enumerate(rest)})
    for i, j in mixed:
      out[(i, j)] = _mixed(f, x, i, j)
    if u is None:
      u = f(x)
    d = {}
    for k, s in specs.items():
      if k == LAPLACIAN:
        d[k] = out[LAPLACIAN]
      elif collapse and k in diag_keys:  # served from the Laplacian, see module doc.
        d[k] = out[LAPLACIAN] if k == self.spatial_key(self.spatial[0]) else jnp.zeros_like(u)
      else:
        d[k] = out[s[0] if len(s) == 1 else s]
    return u, d

  def spatial_key(self, c: str) -> str:
    return c + c


class _Recorder(Mapping):
  """``d`` during discovery: records keys, returns zeros of ``u``'s shape."""

  def __init__(self, engine: Derivatives, aval):
    self.engine, self.aval, self.read = engine, aval, set()

  def __getitem__(self, key):
    self.engine.check_key(key)
    self.read.add(key)
    return jnp.zeros(self.aval.shape, self.aval.dtype)

  def __iter__(self):
    return iter(self.engine.keys)

  def __len__(self):
    return len(self.engine.keys)


class _Fixed(Mapping):
  """``d`` at evaluation: the computed values, with the same key errors."""

  def __init__(self, engine: Derivatives, values: dict):
    self.engine, self.values = engine, values

  def __getitem__(self, key):
    self.engine.check_key(key)
    return self.values[key]

  def __iter__(self):
    return iter(self.values)

  def __len__(self):
    return len(self.values)


def _basis(x, idx):
  return jnp.eye(x.shape[0], dtype=x.dtype)[jnp.array(idx)]


def _forward_laplacian(f, x, sp_idx):
  """u, gradient over spatial coords (leading axis) and spatial Laplacian (folx)."""
  if len(sp_idx) == x.shape[0]:  # no time coordinate: differentiate f itself
    g, xs = f, x
  else:
    sp = jnp.array(sp_idx)
    g, xs = (lambda y: f(x.at[sp].set(y))), x[sp]
  r = folx.forward_laplacian(g, disable_jit=True)(xs)
  jac = r.dense_jacobian.reshape((len(sp_idx),) + r.x.shape)
  return r.x, jac, r.laplacian


def _taylor2(f, x, idx):
  """u and first/second derivatives along each coordinate in ``idx`` (leading axis)."""
  zeros = jnp.zeros_like(x)
  def along(v):
    if _jet_ok(f, x):
      u, (d1, d2) = jet(f, (x,), ((v, zeros),))
      return u, d1, d2
    first = lambda y: jax.jvp(f, (y,), (v,))
    (u, d1), (_, d2) = jax.jvp(first, (x,), (v,))
    return u, d1, d2
  u, d1, d2 = jax.vmap(along)(_basis(x, idx))
  return u[0], d1, d2


def _jet_ok(f, x) -> bool:
  """Whether every op of ``f`` has a jet rule (checked once per trace)."""
  try:
    z = jnp.zeros_like(x)
    jax.eval_shape(lambda y: jet(f, (y,), ((z, z),)), x)
    return True
  except Exception:  # noqa: BLE001 - a missing jet rule; fall back to jvp-of-jvp.
    return False


def _jvps(f, x, idx):
  u, d1 = jax.vmap(lambda v: jax.jvp(f, (x,), (v,)))(_basis(x, idx))
  return u[0], d1


def _mixed(f, x, i, j):
  ei, ej = _basis(x, [i])[0], _basis(x, [j])[0]
  return jax.jvp(lambda y: jax.jvp(f, (y,), (ei,))[1], (x,), (ej,))[1]


def _only_through_sum(jaxpr, forms: dict, diag: set) -> bool:
  """Linear-form propagation: does the jaxpr read the ``diag`` inputs only via their sum?

  A form is (signature of structural ops applied, {key: coefficient}) and
  stands for a value equal to that linear combination plus terms free of the
  seeds. Any other use "consumes" the form; every consumed form must weigh all
  ``diag`` keys equally.
  """
  consumed = []
  is_var = lambda v: type(v).__name__ != "Literal"
  for eqn in jaxpr.eqns:
    ins = [forms.get(v) if is_var(v) else None for v in eqn.invars]
    if not any(ins):
      continue
    name, out = eqn.primitive.name, None
    if name in ("add", "sub", "add_any"):
      a, b = ins
      if a and b and a[0] == b[0]:
        sign = -1.0 if name == "sub" else 1.0
        coefs = dict(a[1])
        for k, c in b[1].items():
          coefs[k] = coefs.get(k, 0.0) + sign * c
        out = (a[0], coefs)
      elif a and not b:
        out = a
      elif b and not a:
        out = (b[0], {k: (-c if name == "sub" else c) for k, c in b[1].items()})
    elif name == "neg":
      out = (ins[0][0], {k: -c for k, c in ins[0][1].items()})
    elif name == "mul" and sum(map(bool, ins)) == 1:
      lit = [v for v in eqn.invars if not is_var(v)]
      if lit and jnp.ndim(lit[0].val) == 0:
        f = ins[0] or ins[1]
        out = (f[0], {k: c * float(lit[0].val) for k, c in f[1].items()})
    elif name in _STRUCTURAL and ins[0] and not any(ins[1:]):
      sig = (name, repr(sorted(eqn.params.items(), key=lambda kv: kv[0])),
             tuple(repr(v) for v in eqn.invars[1:]))
      out = (ins[0][0] + (sig,), ins[0][1])
    if out is not None and len(eqn.outvars) == 1:
      forms[eqn.outvars[0]] = out
      continue
    consumed.extend(f for f in ins if f)
  consumed.extend(forms[v] for v in jaxpr.outvars if is_var(v) and v in forms)
  for _, coefs in consumed:
    nz = {k: c for k, c in coefs.items() if abs(c) > 0}
    if nz and (set(nz) != diag or len(set(nz.values())) != 1):
      return False
  return True
