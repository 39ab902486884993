"""Conservation: drift of conserved quantities of the learned solution over time."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.callbacks.base import ORDER_PHYSICS, Callback, check_every

BUILTIN = ("mass", "energy", "momentum")
ACTIONS = ("log", "stop", "penalty")


class Conservation(Callback):
  """Integrates conserved quantities of ``u(x, t)`` at several times; logs their drift.

  Each law is a functional ``Q(t)`` of the learned solution at time ``t``,
  computed by quadrature over the spatial domain (every coordinate but
  ``t``) on a tensor grid of ``n_grid`` points per coordinate (over the
  bounding box of a curved or CSG domain, nodes outside it weighted 0):

  * ``"mass"``: ``∫ u dx``; ``"momentum"``: ``∫ v dx`` of a velocity field
    (the outputs picked by ``fields["momentum"]``); ``"energy"``: ``∫ |u|² dx``.
    Built-ins use all outputs unless ``fields`` names some (an index or a
    list), e.g. ``fields={"mass": 0, "momentum": [1, 2]}`` for (ρ, v).
  * a custom law ``fn(model, x)`` or ``fn(model, x, w)``: ``x`` is the grid
    at one time, ``(m, dim)`` with the ``t`` column set, ``w`` its
    quadrature weights (``∫ f dx ≈ Σ w f(x)``); it returns ``Q`` (a scalar or
    vector), e.g. a Hamiltonian with derivatives taken by ``jax.grad``.

  The logged value ``conservation_<law>`` is
  ``max_t |Q(t) − Q(t0)| / max(|Q(t0)|, eps)`` (Euclidean norms for vector
  ``Q``; ``t0`` is the first of ``times``). Quantities whose ``Q(t0)`` is 0
  (``∫ sin``) have no meaningful relative drift: pick another law or ``eps``.

  ``action``: ``"log"`` only logs (and notes once a law exceeds
  ``tolerance``, if given); ``"stop"`` sets ``learner.stop_training`` when a
  drift exceeds ``tolerance``; ``"penalty"`` also adds, at ``on_fit_begin``
  (before compiling), a loss term ``conservation_<law>`` per law whose value
  is the squared drift, weighted by ``weight``.

  Example (periodic advection conserves mass and energy):
    >>> import jax.numpy as jnp
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> check = cb.Conservation(["mass", "energy"], tolerance=1e-2, every=500,
    ...                         action="log", n_grid=64, times=11)
    >>> u = lambda x: 2 + jnp.sin(jnp.pi * (x[:, :1] - 0.5 * x[:, 1:]))  # u(x - a t)
    >>> d = check.drifts(u, of.Box({"x": (0, 2), "t": (0, 1)}))
    >>> bool(d["mass"] < 1e-5 and d["energy"] < 1e-5)
    True

  Args:
    laws: a law or a list of them (names or functions), or a mapping
      name -> law (the name appears in the logs).
    tolerance: the largest acceptable drift (needed for ``action="stop"``).
    every: check every this many optimizer steps.
    action: ``"log"``, ``"stop"`` or ``"penalty"``.
    n_grid: quadrature points per spatial coordinate (an int or one per
      spatial coordinate).
    times: number of equally spaced times over the time interval, or the
      times themselves.
    quadrature: ``"gauss"`` (Gauss–Legendre) or ``"trapezoid"`` (spectrally
      accurate for periodic solutions).
    fields: built-in law -> output index or indices.
    weight: the penalty terms' loss weight.
    eps: floor of ``|Q(t0)|`` in the relative drift.
    domain: the space-time ``of.Box`` (default: the problem's domain).
    verbose: print a note when a tolerance is exceeded.
  """

  order = ORDER_PHYSICS

  def __init__(self, laws="mass", tolerance: float | None = None, every: int = 1000,
               action: str = "log", *, n_grid=64, times=11, quadrature: str = "gauss",
               fields: Mapping | None = None, weight: float = 1.0, eps: float = 1e-8,
               domain=None, verbose: int = 1):
    self.laws = _check_laws(laws)
    self.every = check_every(every, allow_none=False)
    if action not in ACTIONS:
      raise ValueError(f"action must be one of {ACTIONS}; got {action!r}")
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(
        tolerance, (int, float)) or not 0 < tolerance < float("inf")):
      raise ValueError(f"tolerance must be a finite number > 0 or None; got {tolerance!r}")
    if action == "stop" and tolerance is None:
      raise ValueError("action='stop' needs a tolerance (the largest acceptable drift)")
    if quadrature not in ("gauss", "trapezoid"):
      raise ValueError(f"quadrature must be 'gauss' or 'trapezoid'; got {quadrature!r}")
    for name, value in (("weight", weight), ("eps", eps)):
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    self.fields = _check_fields(fields, self.laws)
    self.tolerance, self.action, self.quadrature = tolerance, action, quadrature
    self.n_grid, self.times, self.weight, self.eps = n_grid, times, float(weight), float(eps)
    self.domain, self.verbose = domain, verbose
    self._drift, self._penalties, self._noted = None, {}, set()

  # -- the fit ------------------------------------------------------------------
  def on_fit_begin(self, learner):
    domain = self._domain(learner)
    grids, w = self.grid(domain)  # validates n_grid / times before compiling
    self._noted = set()
    predict = learner.problem.predict
    self._check_outputs(learner.model, grids, predict)
    if self.action == "penalty":
      for law in self.laws:
        key = (id(learner), law)
        if key not in self._penalties:  # the same fn each fit: add_loss_term is a no-op then
          self._penalties[key] = self._penalty(law, grids, w, predict)
        learner.add_loss_term(f"conservation_{law}", self._penalties[key], self.weight)
    self._drift = self._drift_fn(grids, w, predict)

  def log_names(self, learner):
    return [f"conservation_{law}" for law in self.laws]

  def on_step_end(self, learner):
    check = learner.compile("conservation", lambda s: self._drift(s.model), key=self)
    drifts = jax.device_get(check())
    for law, value in drifts.items():
      value = float(value)
      learner.logs[f"conservation_{law}"] = value
      if self.tolerance is not None and not value <= self.tolerance:
        if self.action == "stop":
          learner.stop_training = True
        if self.verbose and law not in self._noted:
          self._noted.add(law)
          then = "; stopping" if self.action == "stop" else ""
          print(f"Conservation: {law} drift {value:.3g} exceeds tolerance={self.tolerance:g}"
                f" at step {learner.step}{then}")

  # -- the quantities -----------------------------------------------------------
  def drifts(self, model, domain, predict=None) -> dict[str, float]:
    """The drift of each law for ``model`` (any callable ``(m, dim) -> outputs``)."""
    grids, w = self.grid(domain)
    fn = self._drift_fn(grids, w, predict or (lambda m, x: m(x)))
    return {k: float(v) for k, v in jax.device_get(fn(model)).items()}

  def quantities(self, model, domain, predict=None) -> dict[str, np.ndarray]:
    """``Q(t)`` of each law at ``times``: arrays of shape ``(n_times, q)``."""
    grids, w = self.grid(domain)
    predict = predict or (lambda m, x: m(x))
    return {law: np.asarray(self._q(law, model, grids, w, predict)) for law in self.laws}

  def grid(self, domain):
    """``(grids (n_times, m, dim), weights (m,))``: the quadrature grid at each time."""
    if not domain.has_time or not domain.spatial:
      raise ValueError(f"Conservation needs a domain with a time coordinate 't' and at least one"
                       f" spatial coordinate; got {domain!r}")
    spatial = domain.spatial
    counts = [self.n_grid] * len(spatial) if np.ndim(self.n_grid) == 0 else list(self.n_grid)
    if len(counts) != len(spatial) or any(isinstance(c, bool) or not isinstance(
        c, (int, np.integer)) or c < 2 for c in counts):
      raise ValueError(f"n_grid must be an int >= 2 or one per spatial coordinate"
                       f" {list(spatial)}; got {self.n_grid!r}")
    it = domain.index("t")
    t_lo, t_hi = domain.low[it], domain.high[it]
    times = np.linspace(t_lo, t_hi, self.times) if isinstance(self.times, (int, np.integer)) \
        and not isinstance(self.times, bool) else np.asarray(self.times, float).reshape(-1)
    if times.size < 2 or not np.all(np.isfinite(times)) or times.min() < t_lo or times.max() > t_hi:
      raise ValueError(f"times must be an int >= 2 or at least 2 times in [{t_lo:g}, {t_hi:g}];"
                       f" got {self.times!r}")
    nodes, weights = zip(*(_rule(self.quadrature, n, domain.low[domain.index(c)],
                                 domain.high[domain.index(c)]) for c, n in zip(spatial, counts)))
    mesh = [a.reshape(-1) for a in np.meshgrid(*nodes, indexing="ij")]
    w = np.prod([a.reshape(-1) for a in np.meshgrid(*weights, indexing="ij")], axis=0)
    grids = np.zeros((times.size, w.size, domain.dim))
    for c, col in zip(spatial, mesh):
      grids[:, :, domain.index(c)] = col
    grids[:, :, it] = times[:, None]
    # Curved and CSG domains: the rule on their bounding box, with the nodes
    # outside the domain weighted 0 (exact for boxes, first order at a curved rim).
    w = w * domain.contains(grids[0])
    return jnp.asarray(grids, jnp.float32), jnp.asarray(w, jnp.float32)

  def _q(self, law, model, grids, w, predict):
    """``Q`` at every time, ``(n_times, q)``."""
    fn = kind = self.laws[law]
    if isinstance(kind, str):
      idx = self.fields.get(law)

      def fn(m, x, w_):
        u = predict(m, x).reshape(x.shape[0], -1)
        u = u if idx is None else u[:, jnp.asarray(idx)]
        return jnp.sum(w_[:, None] * u ** 2) if kind == "energy" else w_ @ u
    elif _takes_weights(fn):
      pass
    else:
      fn = (lambda f: lambda m, x, w_: f(m, x))(fn)
    return jax.vmap(lambda x: jnp.reshape(fn(model, x, w), (-1,)))(grids)

  def _drift_fn(self, grids, w, predict, laws=None):
    def drift(model):
      out = {}
      for law in laws or self.laws:
        q = self._q(law, model, grids, w, predict)
        change = _norm(q - q[:1])
        out[law] = jnp.max(change) / jnp.maximum(_norm(q[0]), self.eps)
      return out
    return drift

  def _penalty(self, law, grids, w, predict):
    single = self._drift_fn(grids, w, predict, laws=(law,))
    return lambda model, data: single(model)[law] ** 2

  def _check_outputs(self, model, grids, predict):
    k = int(np.prod(jax.eval_shape(lambda x: predict(model, x), grids[0]).shape[1:]))
    for law, ids in self.fields.items():
      if max(ids) >= k:
        raise ValueError(f"fields[{law!r}]={ids} but the model has {k} output(s)")

  def _domain(self, learner):
    domain = self.domain if self.domain is not None else getattr(learner.problem, "domain", None)
    if domain is None or not hasattr(domain, "spatial"):
      raise TypeError(f"Conservation needs a space-time domain: the problem"
                      f" {type(learner.problem).__name__} has none; pass domain=of.Box(...)")
    return domain

  def __repr__(self):
    return (f"Conservation(laws={list(self.laws)}, tolerance={self.tolerance},"
            f" every={self.every}, action={self.action!r})")


def _norm(v):
  """Euclidean norm over the last axis with a finite gradient at 0 (the penalty
  differentiates it, and Q(t0) - Q(t0) is exactly 0)."""
  sq = jnp.sum(v ** 2, axis=-1)
  return jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)


def _rule(kind, n, lo, hi):
  """Nodes and weights of an ``n``-point rule on ``[lo, hi]``."""
  if kind == "gauss":
    x, w = np.polynomial.legendre.leggauss(int(n))
    return lo + (x + 1) * (hi - lo) / 2, w * (hi - lo) / 2
  x = np.linspace(lo, hi, int(n))
  w = np.full(int(n), (hi - lo) / (n - 1))
  w[[0, -1]] /= 2
  return x, w


def _check_laws(laws) -> dict:
  if isinstance(laws, Mapping):
    items = list(laws.items())
  else:
    seq = [laws] if isinstance(laws, str) or callable(laws) else laws
    if not isinstance(seq, (list, tuple)):
      raise TypeError(f"laws must be a name, a function, a list of them or a mapping; got {laws!r}")
    items = [(law if isinstance(law, str) else getattr(law, "__name__", "law"), law) for law in seq]
  out = {}
  for name, law in items:
    if not isinstance(name, str) or not name.isidentifier():
      raise ValueError(f"law names must be identifiers (they become log names); got {name!r}")
    if isinstance(law, str) and law not in BUILTIN:
      raise ValueError(f"unknown conservation law {law!r}; built-ins are {list(BUILTIN)}, or pass"
                       " a function (model, x) -> Q")
    if not isinstance(law, str) and not callable(law):
      raise TypeError(f"law {name!r} must be one of {list(BUILTIN)} or a function (model, x) -> Q;"
                      f" got {law!r}")
    if name in out:
      raise ValueError(f"law name {name!r} appears twice; give each law a distinct name")
    out[name] = law
  if not out:
    raise ValueError("laws is empty; expected at least one law such as 'mass'")
  return out


def _check_fields(fields, laws) -> dict:
  if fields is None:
    return {}
  if not isinstance(fields, Mapping):
    raise TypeError(f"fields must be a mapping law -> output index or indices; got {fields!r}")
  out = {}
  for law, idx in fields.items():
    if not isinstance(laws.get(law), str):
      raise ValueError(f"fields has {law!r}, which is not a built-in law of this callback;"
                       f" its built-in laws are {[n for n, v in laws.items() if isinstance(v, str)]}")
    ids = [idx] if isinstance(idx, (int, np.integer)) else \
        list(idx) if isinstance(idx, (list, tuple)) else None
    if not ids or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0 for i in ids):
      raise ValueError(f"fields[{law!r}] must be an output index or a list of them; got {idx!r}")
    out[law] = [int(i) for i in ids]
  return out


def _takes_weights(fn) -> bool:
  try:
    inspect.signature(fn).bind(0, 0, 0)
    return True
  except TypeError:
    return False
  except ValueError:
    return False
