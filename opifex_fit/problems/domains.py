"""Axis-aligned domains and their collocation sampling.

A coordinate named ``t`` is time: its lower face is the initial slice (where
``InitialCondition`` lives) and neither of its faces belongs to the spatial
boundary. All other coordinates are spatial; the spatial boundary is the union
of their ``<c>_min`` / ``<c>_max`` faces, times the whole time interval.

Example:
  >>> import opifex_fit as of
  >>> box = of.Box({"x": (0.0, 1.0), "t": (0.0, 2.0)})
  >>> box.sample_interior(4, seed=0).shape
  (4, 2)
  >>> box.sample_boundary(3, on="x_min")[:, 0]
  array([0., 0., 0.])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np
from scipy.stats import qmc

TIME = "t"
METHODS = ("uniform", "sobol", "halton")


class Box:
  """A product of closed intervals, one per named coordinate (any dimension).

  Args:
    bounds: mapping coordinate name -> ``(low, high)`` with ``low < high``; the
      order of the mapping is the order of the model's input features.
  """

  def __init__(self, bounds: Mapping[str, tuple[float, float]]):
    if not isinstance(bounds, Mapping) or not bounds:
      raise ValueError(f"bounds must be a non-empty mapping name -> (low, high); got {bounds!r}")
    names, lows, highs = [], [], []
    for name, lim in bounds.items():
      if not isinstance(name, str) or not name.isidentifier() or name == "laplacian":
        raise ValueError(f"coordinate names must be identifiers other than 'laplacian'; got {name!r}")
      try:
        lo, hi = (float(v) for v in lim)
      except (TypeError, ValueError) as e:
        raise ValueError(f"bounds[{name!r}] must be a pair (low, high) of numbers; got {lim!r}") from e
      if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"bounds[{name!r}] must be finite with low < high; got {lim!r}"
                         " (empty or inverted interval)")
      names.append(name), lows.append(lo), highs.append(hi)
    self.names: tuple[str, ...] = tuple(names)
    self.low = np.array(lows)
    self.high = np.array(highs)
    self.spatial: tuple[str, ...] = tuple(n for n in names if n != TIME)
    self.has_time = TIME in names

  @property
  def dim(self) -> int:
    return len(self.names)

  def index(self, name: str) -> int:
    if name not in self.names:
      raise ValueError(f"unknown coordinate {name!r}; the domain has {list(self.names)}")
    return self.names.index(name)

  def __repr__(self) -> str:
    inner = ", ".join(f"{n!r}: ({lo:g}, {hi:g})" for n, lo, hi in zip(self.names, self.low, self.high))
    return f"Box({{{inner}}})"

  # -- faces ------------------------------------------------------------------
  def face_names(self) -> tuple[str, ...]:
    """Faces of the spatial boundary, e.g. ``("x_min", "x_max", "y_min", "y_max")``."""
    return tuple(f"{c}_{s}" for c in self.spatial for s in ("min", "max"))

  def aliases(self) -> dict[str, str]:
    """``left/right`` in 1-D and also ``bottom/top`` in 2-D (spatial dims)."""
    if len(self.spatial) == 1:
      c = self.spatial[0]
      return {"left": f"{c}_min", "right": f"{c}_max"}
    if len(self.spatial) == 2:
      a, b = self.spatial
      return {"left": f"{a}_min", "right": f"{a}_max", "bottom": f"{b}_min", "top": f"{b}_max"}
    return {}

  def resolve_faces(self, on, argname: str = "on") -> tuple[str, ...] | Callable:
    """Turns ``on`` into a tuple of face names (or returns a predicate)."""
    if callable(on):
      return on
    items = (on,) if isinstance(on, str) else tuple(on) if isinstance(on, (list, tuple)) else None
    if not items:
      raise ValueError(f"{argname} must be 'boundary', a face name, a list of faces or a"
                       f" predicate; got {on!r}")
    if not self.spatial:
      raise ValueError(f"{argname}={on!r}: the domain {self!r} has no spatial boundary")
    faces, alias = [], self.aliases()
    for item in items:
      if item == "boundary":
        faces.extend(self.face_names())
      elif item in alias:
        faces.append(alias[item])
      elif item in self.face_names():
        faces.append(item)
      else:
        raise ValueError(f"{argname}={item!r} is not a face of {self!r}; expected 'boundary'"
                         f" or one of {list(self.face_names()) + list(alias)}")
    return tuple(dict.fromkeys(faces))

  def face_measure(self, face: str) -> float:
    c = face.rsplit("_", 1)[0]
    others = [i for i, n in enumerate(self.names) if n != c]
    return float(np.prod([self.high[i] - self.low[i] for i in others])) if others else 1.0

  # -- sampling ---------------------------------------------------------------
  def _unit(self, n: int, d: int, method: str, rng: np.random.Generator) -> np.ndarray:
    if method == "uniform" or d == 0:
      return rng.random((n, d))
    engine = (qmc.Sobol if method == "sobol" else qmc.Halton)(d, scramble=True, seed=rng)
    with warnings.catch_warnings():  # Sobol prefers powers of two; any n is still valid.
      warnings.simplefilter("ignore")
      return engine.random(n)

  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points in the box, shape ``(n, dim)``."""
    rng = _rng(seed)
    _check_count(n, "n_interior"), _check_method(method)
    return self.low + self._unit(n, self.dim, method, rng) * (self.high - self.low)

  def sample_boundary(self, n: int, *, on="boundary", seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points on the chosen faces, spread in proportion to face measure.

    ``on`` may also be a predicate ``on(points) -> bool mask`` over an
    ``(m, dim)`` array of boundary points; points are drawn until ``n`` pass.
    """
    _check_count(n, "n_boundary"), _check_method(method)
    rng = _rng(seed)
    faces = self.resolve_faces(on)
    if callable(faces):
      return self._sample_predicate(n, faces, rng, method)
    measures = np.array([self.face_measure(f) for f in faces])
    counts = np.floor(n * measures / measures.sum()).astype(int)
    counts[np.argsort(-(n * measures / measures.sum() - counts))[: n - counts.sum()]] += 1
    parts = [self._sample_face(f, k, rng, method) for f, k in zip(faces, counts) if k]
    return np.concatenate(parts)[rng.permutation(n)]

  def _sample_face(self, face: str, n: int, rng, method: str) -> np.ndarray:
    c, side = face.rsplit("_", 1)
    i = self.index(c)
    others = [j for j in range(self.dim) if j != i]
    pts = np.empty((n, self.dim))
    u = self._unit(n, len(others), method, rng)
    pts[:, others] = self.low[others] + u * (self.high[others] - self.low[others])
    pts[:, i] = self.low[i] if side == "min" else self.high[i]
    return pts

  def _sample_predicate(self, n: int, pred, rng, method: str) -> np.ndarray:
    found, total = [], 0
    for _ in range(100):
      cand = self.sample_boundary(max(4 * n, 64), seed=rng, method=method)
      mask = np.asarray(pred(cand))
      if mask.shape != (len(cand),) or mask.dtype != bool:
        raise ValueError(f"on= predicate must map points of shape {cand.shape} to a bool mask"
                         f" of shape ({len(cand)},); got {mask.dtype} {mask.shape}")
      found.append(cand[mask])
      total += int(mask.sum())
      if total >= n:
        return np.concatenate(found)[:n]
    raise ValueError(f"on= predicate selected {total} of the sampled boundary points; it must"
                     " select a part of the boundary with positive measure")

  def sample_initial(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points on the initial slice ``t = t_min``."""
    if not self.has_time:
      raise ValueError(f"initial points need a coordinate named 't'; the domain is {self!r}")
    _check_count(n, "n_initial"), _check_method(method)
    return self._sample_face(f"{TIME}_min", n, _rng(seed), method)

  def normals(self, x, faces=None):
    """Outward unit normals at boundary points ``x`` (traceable).

    ``faces`` is where the condition lives, as ``on=`` takes it (a face name,
    an alias, a list of faces or "boundary"); None or a predicate means the
    whole spatial boundary. Only the chosen faces count: a corner point of a
    condition on ``"x_max"`` gets that face's normal, and normals average only
    at corners where two chosen faces meet (e.g. ``on="boundary"``).
    """
    import jax.numpy as jnp
    chosen = self.face_names() if faces is None or callable(faces) else \
        self.resolve_faces(faces, argname="faces")
    span = self.high - self.low
    n = jnp.zeros_like(x)
    for face in chosen:
      c, side = face.rsplit("_", 1)
      i = self.index(c)
      at, sign = (self.high[i], 1.0) if side == "max" else (self.low[i], -1.0)
      n = n.at[..., i].add(jnp.where(jnp.abs(x[..., i] - at) <= 1e-5 * span[i], sign, 0.0))
    norm = jnp.linalg.norm(n, axis=-1, keepdims=True)
    return n / jnp.where(norm > 0, norm, 1.0)


def Interval(name: str, low: float, high: float) -> Box:
  """A 1-D domain: ``Interval("x", 0, 1)`` is ``Box({"x": (0, 1)})``."""
  return Box({name: (low, high)})


def _rng(seed) -> np.random.Generator:
  return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_count(n, argname: str) -> None:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
    raise ValueError(f"{argname} must be a positive int number of points; got {n!r}")


def _check_method(method) -> None:
  if method not in METHODS:
    raise ValueError(f"method must be one of {METHODS}; got {method!r}")
