"""Boundary and initial conditions: where they live and their per-point residual.

Each condition is one loss term named by ``name``. ``value`` is a number or a
function of ONE point ``value(x) -> scalar or (k,)`` written with
``jax.numpy`` (it is evaluated inside the jitted step, so resampled points
just work). ``component`` picks one output of a vector model (systems).

Example:
  >>> import jax.numpy as jnp
  >>> import opifex_fit as of
  >>> bcs = [of.DirichletBC(0.0, on=["left", "right"]),
  ...        of.NeumannBC(lambda x: jnp.sin(x[0]), on="top", name="flux"),
  ...        of.InitialCondition(lambda x: -jnp.sin(jnp.pi * x[0]))]
"""

from __future__ import annotations

import numbers
import jax.numpy as jnp
import numpy as np

from opifex_fit.problems.domains import TIME, Box
from opifex_fit.problems.point_data import PointData


class Condition:
  """Base class. ``kind`` is "boundary" (sampled with ``n_boundary``) or "initial"."""

  kind = "boundary"
  default_name = "bc"

  def __init__(self, value=0.0, *, on="boundary", name=None, component=None):
    if not (callable(value) or isinstance(value, numbers.Number) or _is_array(value)):
      raise TypeError(f"{type(self).__name__} value must be a number, an array or a function of"
                      f" one point; got {value!r}")
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
      raise ValueError(f"name must be an identifier string; got {name!r}")
    if component is not None and (isinstance(component, bool) or not isinstance(component, int)
                                  or component < 0):
      raise ValueError(f"component must be a non-negative int output index or None; got {component!r}")
    self.value, self.on, self.component = value, on, component
    self.name_given = name is not None
    self.name = name if name is not None else self.default_name
    self._faces = None

  def __repr__(self) -> str:
    return f"{type(self).__name__}(name={self.name!r}, on={self.on!r})"

  def bind(self, domain: Box) -> None:
    """Checks the condition against ``domain`` (faces exist, etc.)."""
    self._faces = domain.resolve_faces(self.on, argname=f"{type(self).__name__}(on=...)")

  @property
  def faces(self):
    """Where the condition lives once bound: a tuple of face names, or the
    ``on=`` predicate."""
    return self._faces

  def sample(self, domain: Box, n: int, seed, method: str) -> np.ndarray:
    return domain.sample_boundary(n, on=self._faces, seed=seed, method=method)

  def target(self, x):
    return self.value(x) if callable(self.value) else jnp.asarray(self.value)

  def pick(self, u):
    return u if self.component is None else u[self.component]

  def value_at(self, x, u):
    """The condition's value at one point given the output ``u`` there."""
    return self.target(x)

  def keys(self) -> frozenset:
    return frozenset()

  def discover(self, engine, x, u) -> None:
    """Learns what the condition reads of ``d`` (``OperatorBC``); others know it."""

  def residual(self, ev, x, domain: Box):
    """The residual at one point; ``ev(x, keys) -> (u, d)`` evaluates the model."""
    raise NotImplementedError


class DirichletBC(Condition):
  """``u = value`` on the chosen part of the spatial boundary."""

  def residual(self, ev, x, domain):
    u, _ = ev(x, self.keys())
    return self.pick(u) - self.target(x)


class NeumannBC(Condition):
  """``n . grad u = value`` with ``n`` the outward unit normal of the condition's
  faces (at a corner shared by two of them, the normals are averaged)."""

  def bind(self, domain):
    super().bind(domain)
    self._spatial = domain.spatial

  def keys(self):
    return frozenset(self._spatial)

  def residual(self, ev, x, domain):
    _, d = ev(x, self.keys())
    normal = domain.normals(x, faces=self._faces)
    flux = sum(normal[domain.index(c)] * self.pick(d[c]) for c in self._spatial)
    return flux - self.target(x)


class RobinBC(Condition):
  """``n . grad u = value(x, u)`` on the chosen boundary (DeepXDE's ``RobinBC``).

  ``value`` is a function of one point and the constrained output there,
  ``value(x, u) -> scalar``, or a number (then it is a Neumann condition).
  ``n`` is the domain's exact outward unit normal (into a hole on a hole's
  rim); at a corner of two chosen parts the normals are averaged.

  Example (``du/dn = -u``: a cooling wall):
    >>> import opifex_fit as of
    >>> robin = of.RobinBC(lambda x, u: -u, on="right", name="robin")
  """

  default_name = "robin"

  def bind(self, domain):
    super().bind(domain)
    self._spatial = domain.spatial

  def keys(self):
    return frozenset(self._spatial)

  def target(self, x, u):
    return self.value(x, u) if callable(self.value) else jnp.asarray(self.value)

  def value_at(self, x, u):
    return self.target(x, self.pick(u))

  def residual(self, ev, x, domain):
    u, d = ev(x, self.keys())
    normal = domain.normals(x, faces=self._faces)
    flux = sum(normal[domain.index(c)] * self.pick(d[c]) for c in self._spatial)
    return flux - self.target(x, self.pick(u))


class OperatorBC(Condition):
  """``residual(x, u, d) = 0`` on the chosen boundary (DeepXDE's ``OperatorBC``).

  ``residual`` is written like the PDE's, for one point, and ``d`` holds the
  same derivative keys (any order); only the keys it reads are computed.

  Example (a free end of a beam, ``u_xx = 0`` and ``u_xxx = 0`` at ``x = 1``):
    >>> import opifex_fit as of
    >>> moment = of.OperatorBC(lambda x, u, d: d["xx"], on="right", name="moment")
    >>> shear = of.OperatorBC(lambda x, u, d: d["xxx"], on="right", name="shear")
  """

  default_name = "operator"

  def __init__(self, residual, *, on="boundary", name=None):
    if not callable(residual):
      raise TypeError(f"OperatorBC residual must be a function (x, u, d) -> residual; got {residual!r}")
    super().__init__(0.0, on=on, name=name)
    self.operator, self._keys = residual, frozenset()

  def discover(self, engine, x, u) -> None:
    """Records the derivative keys ``residual`` reads (abstract trace)."""
    self._keys = engine.discover(self.operator, x, u)

  def keys(self):
    return self._keys

  def residual(self, ev, x, domain):
    u, d = ev(x, self.keys())
    return self.operator(x, u, d)


class InitialCondition(Condition):
  """``u(x, t_min) = value``; with ``derivative=1``, ``du/dt(x, t_min) = value``.

  Second-order-in-time problems (waves) use two: one for ``u`` and one with
  ``derivative=1`` (give them distinct names, e.g. ``"ic"`` and ``"ic_t"``).
  """

  kind = "initial"
  default_name = "ic"

  def __init__(self, value=0.0, *, name=None, derivative: int = 0, component=None):
    super().__init__(value, on="initial", name=name, component=component)
    if derivative not in (0, 1):
      raise ValueError(f"derivative must be 0 (u) or 1 (du/dt); got {derivative!r}")
    self.derivative = derivative

  @property
  def faces(self):
    return (f"{TIME}_min",)

  def bind(self, domain):
    if not domain.has_time:
      raise ValueError(f"InitialCondition needs a coordinate named {TIME!r}; the domain is {domain!r}")

  def sample(self, domain, n, seed, method):
    return domain.sample_initial(n, seed=seed, method=method)

  def keys(self):
    return frozenset({TIME}) if self.derivative else frozenset()

  def residual(self, ev, x, domain):
    u, d = ev(x, self.keys())
    return self.pick(d[TIME] if self.derivative else u) - self.target(x)


class PeriodicBC(Condition):
  """``u`` (or, with ``derivative=1``, ``du/dc``) equal on both faces of ``coordinate``.

  Its points lie on the ``<coordinate>_min`` face; each is paired with the
  point on the ``_max`` face that differs only in ``coordinate``.
  """

  default_name = "periodic"

  def __init__(self, coordinate: str, *, name=None, derivative: int = 0, component=None):
    super().__init__(0.0, on=f"{coordinate}_min", name=name, component=component)
    if not isinstance(coordinate, str):
      raise TypeError(f"coordinate must be a coordinate name; got {coordinate!r}")
    if derivative not in (0, 1):
      raise ValueError(f"derivative must be 0 (u) or 1 (du/d{coordinate}); got {derivative!r}")
    self.coordinate, self.derivative = coordinate, derivative

  def bind(self, domain):
    if not isinstance(domain, Box) or self.coordinate not in domain.spatial:
      spatial = list(getattr(domain, "spatial", ()))
      raise ValueError(f"PeriodicBC(coordinate={self.coordinate!r}) needs a spatial coordinate of"
                       f" a Box; the domain {domain!r} has spatial coordinates {spatial}")
    super().bind(domain)
    self._i, self._high = domain.index(self.coordinate), float(domain.high[domain.index(self.coordinate)])

  def keys(self):
    return frozenset({self.coordinate}) if self.derivative else frozenset()

  def residual(self, ev, x, domain):
    partner = x.at[self._i].set(self._high)
    (u0, d0), (u1, d1) = ev(x, self.keys()), ev(partner, self.keys())
    if self.derivative:
      return self.pick(d0[self.coordinate]) - self.pick(d1[self.coordinate])
    return self.pick(u0) - self.pick(u1)


def unique_names(conditions, reserved=("pde",)) -> list[str]:
  """Term names: default names are numbered (``bc``, ``bc_2``); explicit clashes are refused."""
  names, seen = [], set(reserved)
  for i, c in enumerate(conditions):
    if not isinstance(c, (Condition, PointData)):
      raise TypeError(f"conditions[{i}] must be an opifex_fit condition (DirichletBC, NeumannBC,"
                      f" RobinBC, OperatorBC, InitialCondition, PeriodicBC, PointData); got {c!r}")
    name = c.name
    if name in seen:
      if c.name_given:
        raise ValueError(f"conditions[{i}] has name={name!r}, already used by another term"
                         f" ({sorted(seen)}); give each condition a distinct name")
      k = 2
      while f"{name}_{k}" in seen:
        k += 1
      name = f"{name}_{k}"
    seen.add(name)
    names.append(name)
  return names


def _is_array(v) -> bool:
  return isinstance(v, (np.ndarray, jnp.ndarray))

