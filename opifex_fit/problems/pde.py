"""PDEProblem: a physics-informed loss from a pointwise residual and conditions.

Example (the seed Poisson problem, Delta u = -2 pi^2 sin(pi x) sin(pi y)):
  >>> import jax.numpy as jnp, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> def poisson(x, u, d):
  ...   return d["xx"] + d["yy"] + 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
  >>> problem = of.PDEProblem(poisson, of.Box({"x": (0, 1), "y": (0, 1)}),
  ...                         conditions=[of.DirichletBC(0.0)], weights={"bc": 10.0})
  >>> data = problem.sample(n_interior=2000, n_boundary=400)   # {"pde": (2000, 2), "bc": (400, 2)}
  >>> model = of.models.MLP(2, [50, 50, 50, 1], rngs=nnx.Rngs(0))
  >>> terms = problem.loss_terms(model, problem.prepare(model, data))   # {"pde": ..., "bc": ...}

Conventions (DeepXDE-like):
  * Loss = sum over terms of ``weight * mean(residual**2)`` (mean over points
    and residual components). Terms: ``"pde"``, each condition's ``name``,
    and ``"data"`` for ``observations=(x_obs, u_obs)``.
  * Training data is a dict term -> points ``(n, dim)``; a term may instead be
    ``{"points": (n, dim), "mask": (n,) bool}`` for a masked mean (fixed-size
    buffers that grow, e.g. RAR-D). Terms have their own sizes, so PDE data
    is trained full batch (``num_examples`` is None); resampling callbacks
    refresh points instead of minibatching.
  * Inverse problems: a residual with a 4th argument receives the model,
    ``residual(x, u, d, model)``, so trainable PDE parameters are read from it
    (``model.kappa[...]``); the model is any ``nnx.Module`` whose
    ``__call__`` gives the solution.
  * ``output_transform(x, u) -> u`` (one point) builds hard constraints, as
    DeepXDE's ``apply_output_transform``: e.g. ``lambda x, u: x[0] * (1 - x[0]) * u``.
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.problems import masked_padding, model_eval, pde_checks, reference
from opifex_fit.problems.base import Problem, to_device_tree
from opifex_fit.problems.conditions import unique_names
from opifex_fit.problems.derivatives import Derivatives, _Fixed
from opifex_fit.problems.domains import Box, _check_count
from opifex_fit.problems.point_data import PointData


class PDEProblem(Problem):
  """A residual, a domain, conditions and optional observations.

  Args:
    residual: ``residual(x, u, d)`` (or ``(x, u, d, model)``) for one point,
      returning a scalar or a 1-D vector (systems).
    domain: any domain: ``of.Box``, ``of.Interval``, ``of.Disk``, ``of.Ball``,
      ``of.Polygon``, ``of.PointCloud``, their CSG combinations and
      space-time products.
    conditions: ``DirichletBC``, ``NeumannBC``, ``RobinBC``, ``OperatorBC``,
      ``InitialCondition``, ``PeriodicBC`` (on named boundary parts) and
      ``PointData`` (observations at given points).
    weights: term -> weight (missing terms weigh 1.0).
    observations: ``(x_obs, u_obs)`` with shapes ``(n, dim)`` and ``(n,)`` / ``(n, k)``.
    output_transform: optional ``(x, u) -> u`` for one point (hard constraints).
    default_samples: keyword arguments of ``sample`` used by ``fit(data=None)``
      (default ``{"n_interior": 2000}``).
    derivatives: ``"batched"`` (default): the model runs on all points at
      once with batched one-hot tangents; second derivatives by
      forward-over-forward ``jvp`` in float32 and by one collapsed
      Taylor-mode pass in float64 (the faster of the two for each dtype on
      XLA:CPU, ``benchmarks/pinn_poisson.py``; see ``derivatives.py``); the
      model must be pointwise (checked before compiling). ``"taylor"``:
      batched, always with the collapsed Taylor-mode pass.
      ``"pointwise"``: the model runs on one point at a time, vmapped
      (slower; for models that are not pointwise but should be
      differentiated per point).
  """

  def __init__(self, residual: Callable, domain: Box, conditions=(), *, weights=None,
               observations=None, output_transform: Callable | None = None,
               default_samples: Mapping | None = None, derivatives: str = "batched"):
    if not callable(residual):
      raise TypeError(f"residual must be a function (x, u, d) -> residual; got {residual!r}")
    self.takes_model = pde_checks.takes_model(residual)
    pde_checks.check_domain(domain)
    if output_transform is not None and not callable(output_transform):
      raise TypeError(f"output_transform must be a function (x, u) -> u; got {output_transform!r}")
    if derivatives not in ("batched", "taylor", "pointwise"):
      raise ValueError(f"derivatives must be 'batched', 'taylor' or 'pointwise'; got"
                       f" {derivatives!r}")
    self.residual, self.domain, self.output_transform = residual, domain, output_transform
    self.derivatives = derivatives
    self.second_order = "taylor" if derivatives == "taylor" else "auto"
    given = tuple(conditions) if isinstance(conditions, (list, tuple)) else (conditions,)
    self.observations = None
    if observations is not None:
      self.observations = pde_checks.check_observations(observations, domain)
      given += (PointData(*self.observations, name="data"),)
    names = unique_names(given)
    # Point-sampled conditions and fixed observations (PointData) are kept
    # apart: only the first have collocation points that callbacks resample.
    self.conditions = tuple(c for c in given if not isinstance(c, PointData))
    self.condition_names = [n for c, n in zip(given, names) if not isinstance(c, PointData)]
    self.point_data = {n: c for c, n in zip(given, names) if isinstance(c, PointData)}
    for c in self.conditions:
      c.bind(domain)
    for n, c in self.point_data.items():
      pde_checks.check_points(c.points, domain.dim, f"PointData {n!r} points", domain)
    self.engine = Derivatives(domain.names)
    self._terms = ("pde", *self.condition_names, *self.point_data)
    self.weights = pde_checks.check_weights(weights, self._terms)
    self.default_samples = dict(default_samples or {"n_interior": 2000})
    self._plans = {}

  def __repr__(self) -> str:
    return f"PDEProblem(terms={self._terms}, domain={self.domain!r})"

  # -- Problem contract ---------------------------------------------------------
  def term_names(self):
    return self._terms

  def default_weights(self):
    return {t: float(self.weights.get(t, 1.0)) for t in self._terms}

  def default_data(self, seed: int):
    return self.sample(**{"seed": seed, **self.default_samples})

  def num_examples(self, data):
    return None

  def sample(self, n_interior: int, n_boundary: int | None = None, n_initial: int | None = None,
             *, seed=0, method: str = "uniform") -> dict:
    """Training data: ``{"pde": (n_interior, dim), <condition name>: points, "data": ...}``.

    Each boundary condition (periodic: each pair) gets ``n_boundary`` points
    on its own faces (default ``n_interior // 5``); each initial condition
    gets ``n_initial`` (default ``n_interior // 5``). ``method`` is
    ``"uniform"``, ``"sobol"`` or ``"halton"``.
    """
    _check_count(n_interior, "n_interior")
    rng = np.random.default_rng(seed)
    n_b = max(1, n_interior // 5) if n_boundary is None else n_boundary
    n_i = max(1, n_interior // 5) if n_initial is None else n_initial
    out = {"pde": self.domain.sample_interior(n_interior, seed=rng, method=method)}
    for c, name in zip(self.conditions, self.condition_names):
      if c.kind == "initial":
        _check_count(n_i, "n_initial")
      else:
        _check_count(n_b, "n_boundary")
      out[name] = c.sample(self.domain, n_i if c.kind == "initial" else n_b, rng, method)
    out.update({n: c.data() for n, c in self.point_data.items()})
    return out

  def prepare(self, model, data, argname: str = "data"):
    if not isinstance(data, Mapping):
      raise TypeError(f"{argname} must be a dict term -> points (see problem.sample()); got"
                      f" {type(data).__name__}")
    data = dict(data)
    for n, c in self.point_data.items():
      data.setdefault(n, c.data())
    if set(data) != set(self._terms):
      raise ValueError(f"{argname} has terms {sorted(data)}; expected exactly {list(self._terms)}")
    dim = self.domain.dim
    for term, v in data.items():
      where = f"{argname}[{term!r}]"
      if term in self.point_data:
        if not (isinstance(v, Mapping) and set(v) == {"x", "u"}):
          raise ValueError(f"{where} must be {{'x': (n, {dim}), 'u': (n,) or (n, k)}}; got {v!r}")
        pde_checks.check_points(v["x"], dim, where + "['x']", self.domain)
        continue
      if isinstance(v, Mapping):
        if set(v) != {"points", "mask"}:
          raise ValueError(f"{where} must be points (n, {dim}) or {{'points', 'mask'}}; got keys {sorted(v)}")
        n = pde_checks.check_points(v["points"], dim, where + "['points']", self.domain)
        if np.shape(v["mask"]) != (n,) or np.asarray(v["mask"]).dtype != bool:
          raise ValueError(f"{where}['mask'] must be a bool array of shape ({n},); got"
                           f" {np.asarray(v['mask']).dtype} {np.shape(v['mask'])}")
      else:
        pde_checks.check_points(v, dim, where, self.domain)
    dev = to_device_tree(data, argname)
    self._probe(model, dev, argname)
    return dev

  def loss_terms(self, model, data) -> dict:
    terms = {}
    for term, v in data.items():
      if term in self.point_data:
        terms[term] = jnp.mean(self.observation_residuals(model, term, v) ** 2)
      else:
        pts, mask = (v["points"], v["mask"]) if isinstance(v, Mapping) else (v, None)
        terms[term] = _masked_mean(self.pointwise_residuals(model, term, pts) ** 2, mask)
    # Only the terms present: a step hook (CausalWeighting) may compute one itself.
    return {t: terms[t] for t in self._terms if t in terms}

  def pad_for_devices(self, data, n_devices: int, previous: dict):
    """Point terms padded with copies of their first point and masked out
    (``{"points", "mask"}``: the masked mean is exact); observations
    (``"data"``) are left for the placement to replicate."""
    return masked_padding.pad_terms(data, n_devices, previous, skip=tuple(self.point_data))

  def unpad_for_devices(self, data, record: dict, head):
    """The padded rows cut off again (``masked_padding.unpad_terms``)."""
    return masked_padding.unpad_terms(data, record, head)

  def predict(self, model, x):
    return self.batch_transform(x, model(x)).reshape(x.shape[0], -1)

  # -- physics ----------------------------------------------------------------
  def batch_transform(self, x, raw):
    """Model outputs ``(n, k)`` at points ``x`` -> ``u``: ``(n,)`` for one
    output, ``(n, k)`` else, with ``output_transform`` applied per point."""
    u = raw[:, 0] if raw.shape[1:] == (1,) else raw
    return u if self.output_transform is None else jax.vmap(self.output_transform)(x, u)

  def point_fn(self, model) -> Callable:
    """``x (dim,) -> u`` at one point: scalar for one output, output transform
    applied. Pure: state the model changes (Dropout's RNG count) is dropped."""
    fn, _ = model_eval.pure_batch_fn(model, self.batch_transform)
    return lambda x: fn(x[None])[0][0]

  def evaluate(self, model, points, keys, collapse: bool = False):
    """``(u, d)`` at ``points (n, dim)``: ``d`` holds the derivative ``keys``."""
    if self.derivatives == "pointwise":
      f = self.point_fn(model)
      return jax.vmap(lambda x: self.engine.evaluate(f, x, keys, collapse))(points)
    fn, finish = model_eval.pure_batch_fn(model, self.batch_transform)
    u, d, new_rest = self.engine.evaluate_batch(fn, points, keys, collapse, has_aux=True,
                                                second_order=self.second_order)
    finish(new_rest)
    return u, d

  def pointwise_residuals(self, model, term: str, points):
    """Residuals of ``term`` ("pde" or a condition name) at ``points (n, dim)``.

    Returns ``(n,)`` or ``(n, k)`` for vector residuals; traceable, so physics
    callbacks (RAD, RAR-D) jit it on their own candidate pools.
    """
    engine = self.engine
    if term == "pde":
      keys, collapse = self.plan(model)
      u, d = self.evaluate(model, points, keys, collapse)
      one = lambda x, u_, d_: self._call(x, u_, _Fixed(engine, d_), model)
      return jax.vmap(one)(points, u, d)
    if term not in self.condition_names:
      raise ValueError(f"term must be 'pde' or a condition name {list(self.condition_names)};"
                       f" got {term!r}")
    self.plan(model)  # an OperatorBC learns the keys it reads
    cond = self.conditions[self.condition_names.index(term)]
    u_aval = jax.eval_shape(self.point_fn(model), points[0])
    return model_eval.condition_residuals(
        cond, lambda q, keys: self.evaluate(model, q, keys), points, self.domain, u_aval)

  def observation_residuals(self, model, term: str, value):
    """``u_c(x) - u_obs`` of a ``PointData`` term at ``value = {"x", "u"}``."""
    c = self.point_data[term]
    pred = self.predict(model, value["x"])
    pred = pred if c.component is None else pred[:, c.component]
    return pred.reshape(value["u"].shape) - value["u"]

  def plan(self, model):
    """(keys the residual reads, whether they collapse into one Laplacian)."""
    x = jax.ShapeDtypeStruct((self.domain.dim,), jnp.result_type(float))
    u = jax.eval_shape(self.point_fn(model), x)
    sig = (u.shape, u.dtype)
    if sig not in self._plans:
      fn = lambda x_, u_, d: self._call(x_, u_, d, model)
      keys = self.engine.discover(fn, x, u)
      self._plans[sig] = (keys, self.engine.collapsible(fn, x, u, keys))
    for c in self.conditions:
      c.discover(self.engine, x, u)
    return self._plans[sig]

  def _call(self, x, u, d, model):
    return self.residual(x, u, d, model) if self.takes_model else self.residual(x, u, d)

  def relative_l2(self, model, exact: Callable, n: int = 10_000, *, points=None, seed=0) -> float:
    """Relative L2 error of ``predict`` against ``exact(points (n, dim)) -> (n,) / (n, k)``.

    Points default to ``n`` uniform interior points of the domain.
    """
    pts = self.domain.sample_interior(n, seed=seed) if points is None else np.asarray(points)
    pred = np.asarray(self.predict(model, jnp.asarray(pts, jnp.result_type(float))))
    return reference.relative_l2(pred, np.asarray(exact(pts)))

  # -- checks before compiling ---------------------------------------------------
  def _probe(self, model, data, argname):
    dim = self.domain.dim
    raw, _ = model_eval.pure_batch_fn(model, lambda x, u: u)
    try:
      out = jax.eval_shape(raw, jax.ShapeDtypeStruct((2, dim), jnp.float32))[0]
    except Exception as e:  # noqa: BLE001 - rethrown with what we expected
      raise ValueError(f"{argname}: the model cannot take points of shape (n, {dim}) for"
                       f" coordinates {list(self.domain.names)}: {e}") from e
    if out.ndim != 2:
      raise ValueError(f"the model must map (n, {dim}) points to (n, k) outputs; got {out.shape}")
    x = jax.ShapeDtypeStruct((dim,), jnp.result_type(float))
    u = jax.eval_shape(self.point_fn(model), x)
    self.plan(model)
    if self.derivatives != "pointwise":
      model_eval.check_pointwise(raw, self.domain.sample_interior(3, seed=0).astype(
          jnp.result_type(float)))
    r = jax.eval_shape(lambda p: self.pointwise_residuals(model, "pde", p), data["pde"]["points"]
                       if isinstance(data["pde"], Mapping) else data["pde"])
    if r.ndim not in (1, 2):
      raise ValueError(f"residual must return a scalar or a 1-D vector per point; got shape"
                       f" {r.shape[1:]} per point")
    for c, name in zip(self.conditions, self.condition_names):
      if c.component is not None and (u.ndim == 0 or c.component >= u.shape[0]):
        raise ValueError(f"condition {name!r}: component={c.component} but the model has"
                         f" {1 if u.ndim == 0 else u.shape[0]} output(s)")
      want = jax.eval_shape(c.pick, u).shape if c.component is not None or u.ndim else ()
      got = jax.eval_shape(c.value_at, x, u).shape
      if jnp.broadcast_shapes(want, got) != want:
        raise ValueError(f"condition {name!r}: value has shape {got} per point but the output"
                         f" it constrains has shape {want}")
    for n, c in self.point_data.items():
      c.check_outputs(1 if u.ndim == 0 else u.shape[0], data[n]["u"].shape, f"{argname}[{n!r}]")


def _masked_mean(sq, mask):
  if mask is None:
    return jnp.mean(sq)
  m = mask.reshape(mask.shape + (1,) * (sq.ndim - 1)).astype(sq.dtype)
  per_point = sq.size // sq.shape[0]
  return jnp.sum(sq * m) / (jnp.maximum(jnp.sum(m), 1.0) * per_point)
