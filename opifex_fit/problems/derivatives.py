"""The derivative engine: exactly the derivatives a residual reads, forward mode.

A residual is written for one point as ``residual(x, u, d)``; ``d`` maps keys
to derivatives of ``u`` at ``x``: ``d["x"]`` (first), ``d["xx"]`` (second),
``d["xy"]`` (mixed, either order), keys of any order such as ``d["xxxx"]``,
``d["xxy"]``, ``d["ttx"]`` (coordinate names in any order: mixed partials
commute; read and computed in ``high_order.py``), and ``d["laplacian"]``
(sum of the second derivatives over the spatial coordinates, i.e. all but
``t``). Vector outputs give vectors of the same shape as ``u``.

How it stays fast (no nested reverse mode, no Hessians):

1. *Discovery.* The residual is first traced abstractly (``jax.eval_shape``)
   with a recording mapping, which learns the keys it reads.
2. *Collapsing.* If the residual reads every spatial ``d["cc"]`` but only
   through their sum (``d["xx"] + d["yy"]``, ``nu * (d["xx"] + d["yy"])``,
   also under slicing of vector outputs), a small jaxpr pass proves it
   (``collapsing.py``) and the keys are served from one Laplacian:
   ``d["xx"] = laplacian``, ``d["yy"] = 0``. So ``d["xx"] + d["yy"]`` costs
   exactly ``d["laplacian"]``.
3. *Computing, batched* (``evaluate_batch``, the default). The model runs on
   the whole batch ``(N, dim)``: first derivatives are ``jvp``s with one-hot
   tangents shared by all rows (only the coordinates read); each second
   derivative is a forward-over-forward ``jvp`` along its direction pair,
   whose inner ``jvp`` also gives the first derivative (``nested_jvps``).
   With ``second_order="taylor"`` all second derivatives come instead from
   one collapsed Taylor-mode pass (``taylor.py``) that carries values,
   first derivatives and the summed second ones through the model layer by
   layer: fewer flops, but measured slower on XLA:CPU (``benchmarks/``).
   Both are exact only for models whose output row depends on its own
   input row alone; ``PDEProblem`` checks that once per model. Keys of
   order >= 3 come from one Taylor-mode pass (``jax.experimental.jet``)
   per coordinate, which also serves that coordinate's lower pure orders
   (``d["x"]``, ``d["xx"]`` next to ``d["xxxx"]``); mixed ones add nested
   ``jvp``s on top (``high_order.py``). A residual of order <= 2 runs
   exactly the code above.
4. *Computing, per point* (``evaluate``, ``PDEProblem(derivatives="pointwise")``):
   folx's forward Laplacian, Taylor mode (``jax.experimental.jet``) vmapped
   over directions, ``jvp`` for first and forward-over-forward ``jvp`` for
   mixed derivatives, at one point; the problem vmaps it.

Example:
  >>> import jax.numpy as jnp
  >>> from opifex_fit.problems.derivatives import Derivatives
  >>> eng = Derivatives(("x", "y"))
  >>> f = lambda p: jnp.sin(p[0]) * p[1] ** 2
  >>> keys = eng.discover(lambda x, u, d: d["xx"] + d["yy"], jnp.zeros(2), jnp.zeros(()))
  >>> u, d = eng.evaluate(f, jnp.array([0.0, 1.0]), keys)
  >>> float(d["xx"] + d["yy"])                       # -sin(0)*1 + 2 sin(0)
  0.0
  >>> g = lambda p: p[0] ** 3 * p[1]                   # keys of any order, any spelling
  >>> u, d = eng.evaluate(g, jnp.array([2.0, 5.0]), {"xxy", "yxx", "xxxx"})
  >>> [round(float(d[k]), 4) for k in ("xxy", "yxx", "xxxx")]   # 6 x, 6 x, 0
  [12.0, 12.0, 0.0]
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from opifex_fit.problems.collapsing import only_through_sum
from opifex_fit.problems.high_order import high_order, read_key
from opifex_fit.problems.pointwise_derivatives import forward_laplacian, jvps, mixed_second, taylor2
from opifex_fit.problems.taylor import forward_taylor, nested_jvps

LAPLACIAN = "laplacian"
SECOND_ORDERS = ("auto", "nested", "taylor")


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
    self.specs: dict[str, tuple[int, ...]] = {LAPLACIAN: ()}  # keys read so far

  def _add(self, key: str, spec: tuple[int, ...]) -> None:
    if self.keys.get(key, spec) != spec:
      raise ValueError(f"derivative key {key!r} is ambiguous for coordinates {list(self.names)};"
                       " rename the coordinates")
    self.keys[key] = spec

  def spec(self, key) -> tuple[int, ...]:
    """The sorted coordinate indices of ``key``, read once (lazily) per key."""
    if not (isinstance(key, str) and key in self.specs):
      spec = read_key(key, self.names)
      self.specs[key] = spec
    return self.specs[key]

  def check_key(self, key) -> None:
    self.spec(key)
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
    return only_through_sum(closed.jaxpr, seeds, diag)

  # -- evaluation -------------------------------------------------------------
  def evaluate(self, f: Callable, x, keys, collapse: bool = False):
    """``(u, d)`` at one point for ``f: (dim,) -> u``; ``d`` holds ``keys`` only."""
    eye = jnp.eye(x.shape[0], dtype=x.dtype)
    u, served = self.high_orders(f, x, keys, collapse, lambda i: eye[i])
    rest = frozenset(keys) - set(served)
    if u is not None and not rest:
      return u, served
    u, d = self.low_orders(f, x, rest, collapse)
    return u, {**d, **served}

  def high_orders(self, f: Callable, x, keys, collapse: bool, tangent: Callable):
    """``(u or None, served)``: the keys of order >= 3 (``high_order.py``) and
    those of lower order that the same Taylor passes give."""
    high = {self.spec(k) for k in keys if len(self.spec(k)) > 2}
    if not high:
      return None, {}
    u, values = high_order(f, x, high, tangent)
    diag_keys = {self.spatial_key(c) for c in self.spatial}
    one_d = len(self.spatial) == 1
    served = {}
    for k in keys:
      spec = self.spec(k)
      if k == LAPLACIAN and one_d:
        spec = (self.names.index(self.spatial[0]),) * 2
      elif k == LAPLACIAN or (collapse and k in diag_keys and not one_d):
        continue  # served from the collapsed Laplacian below
      if spec in values:
        served[k] = values[spec]
    return u, served

  def low_orders(self, f: Callable, x, keys, collapse: bool = False):
    """``(u, d)`` at one point for keys of order <= 2 (and the Laplacian)."""
    keys = frozenset(keys)
    specs = {k: self.spec(k) for k in keys}
    firsts = sorted({s[0] for s in specs.values() if len(s) == 1})
    diag_keys = {self.spatial_key(c) for c in self.spatial}
    need_lap = LAPLACIAN in keys or (collapse and bool(diag_keys & keys))
    diags = sorted({s[0] for k, s in specs.items() if len(s) == 2 and s[0] == s[1]
                    and not (collapse and k in diag_keys)})
    mixed = sorted({s for s in specs.values() if len(s) == 2 and s[0] != s[1]})
    sp_idx = [self.names.index(c) for c in self.spatial]
    out, u = {}, None
    if need_lap and not diags:
      u, jac, lap = forward_laplacian(f, x, sp_idx)
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
        u, d1, d2 = taylor2(f, x, diags)
        for n, i in enumerate(diags):
          out[i], out[(i, i)] = d1[n], d2[n]
        if need_lap:
          out[LAPLACIAN] = sum(out[(i, i)] for i in sp_idx)
    if rest:
      u, d1 = jvps(f, x, rest)
      out.update({i: d1[n] for n, i in enumerate(rest)})
    for i, j in mixed:
      out[(i, j)] = mixed_second(f, x, i, j)
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

  def evaluate_batch(self, fn: Callable, x, keys, collapse: bool = False, *,
                     has_aux: bool = False, second_order: str = "auto"):
    """``(u, d)`` on the batch ``x (N, dim)`` for a row-wise ``fn: (N, dim) -> u``.

    ``u`` is ``(N,)`` or ``(N, k)``; ``d[key]`` has ``u``'s shape. With
    ``has_aux``, ``fn`` returns ``(u, aux)`` and ``(u, d, aux)`` is returned.
    ``second_order``: ``"nested"`` (forward-over-forward ``jvp`` per direction
    pair), ``"taylor"`` (one collapsed Taylor-mode pass, ``taylor.py``: fewer
    flops) or ``"auto"``: nested in float32, Taylor in float64, the faster
    of the two for each in ``benchmarks/pinn_poisson.py`` on XLA:CPU.
    """
    if second_order not in SECOND_ORDERS:
      raise ValueError(f"second_order must be one of {SECOND_ORDERS}; got {second_order!r}")
    plain = fn if has_aux else (lambda y: (fn(y), None))
    eye = jnp.eye(x.shape[-1], dtype=x.dtype)
    _, served = self.high_orders(lambda y: plain(y)[0], x, keys, collapse,
                                 lambda i: jnp.broadcast_to(eye[i], x.shape))
    rest = frozenset(keys) - set(served)
    u, d, aux = self.low_orders_batch(plain, x, rest, collapse, second_order)
    d.update(served)
    return (u, d, aux) if has_aux else (u, d)

  def low_orders_batch(self, plain: Callable, x, keys, collapse: bool, second_order: str):
    """``(u, d, aux)`` on the batch for keys of order <= 2 (and the Laplacian);
    ``plain(x) -> (u, aux)``."""
    specs = {k: self.spec(k) for k in keys}
    diag_keys = {self.spatial_key(c) for c in self.spatial}
    sp_idx = [self.names.index(c) for c in self.spatial]
    need_lap = LAPLACIAN in specs or (collapse and bool(diag_keys & set(specs)))
    seconds = sorted({s for k, s in specs.items()
                      if len(s) == 2 and not (collapse and k in diag_keys)})
    coords = sorted({i for s in specs.values() for i in s} | (set(sp_idx) if need_lap else set()))
    at = {c: n for n, c in enumerate(coords)}
    groups = [[(at[i], at[j])] for i, j in seconds]
    groups += [[(at[i], at[i]) for i in sp_idx]] if need_lap else []
    dirs = jnp.eye(x.shape[-1], dtype=x.dtype)[jnp.array(coords, dtype=jnp.int32)] \
        if coords else None
    if second_order == "auto":
      second_order = "taylor" if jnp.dtype(x.dtype).itemsize > 4 else "nested"
    if groups and second_order == "taylor":
      u, jac, sec, aux = forward_taylor(plain, x, dirs, groups, has_aux=True)
    elif groups:
      u, jac, sec, aux = nested_jvps(plain, x, dirs, groups)
    elif coords:
      (u, aux), lin = jax.linearize(plain, x)
      jac = jax.vmap(lambda t: lin(t)[0])(jnp.broadcast_to(dirs[:, None], (len(coords),) + x.shape))
    else:
      u, aux = plain(x)
    d = {}
    for k, s in specs.items():
      if k == LAPLACIAN:
        d[k] = sec[-1]
      elif collapse and k in diag_keys:  # served from the Laplacian, see module doc.
        d[k] = sec[-1] if k == self.spatial_key(self.spatial[0]) else jnp.zeros_like(u)
      elif len(s) == 1:
        d[k] = jac[at[s[0]]]
      else:
        d[k] = sec[seconds.index(s)]
    return u, d, aux

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
