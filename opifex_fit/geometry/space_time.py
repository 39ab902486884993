"""Space-time domains: a spatial domain of any kind times a time interval.

``domain * of.Interval("t", t0, t1)`` appends time as the last coordinate. The
spatial boundary's parts keep their names (time slices are not part of it),
``sample_initial`` draws on the slice ``t = t0``, and measures multiply by the
time length. A ``Box`` times an interval is simply a larger ``Box``.

Example:
  >>> import opifex_fit as of
  >>> cylinder = of.Disk((0, 0), 1.0, name="wall") * of.Interval("t", 0.0, 2.0)
  >>> cylinder.names, cylinder.part_names()
  (('x', 'y', 't'), ('wall',))
  >>> round(cylinder.measure, 6), round(cylinder.part_measure("wall"), 6)  # 2 pi, 4 pi
  (6.283185, 12.566371)
  >>> cylinder.sample_initial(3, seed=0)[:, 2].tolist()
  [0.0, 0.0, 0.0]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.geometry import sampling
from opifex_fit.geometry.base import Domain
from opifex_fit.geometry.box import Box
from opifex_fit.geometry.sampling import TIME


def product(space, interval):
  """``space * interval``: a Box for two boxes, else a ``SpaceTime``."""
  if not isinstance(interval, Box) or interval.dim != 1:
    raise TypeError(f"a domain multiplies only by a 1-D of.Interval; got {interval!r}")
  if set(space.names) & set(interval.names):
    raise ValueError(f"{space!r} * {interval!r}: the coordinate {interval.names[0]!r} is"
                     " already in the domain")
  if isinstance(space, Box):
    bounds = {n: (lo, hi) for n, lo, hi in zip(space.names + interval.names,
                                               np.r_[space.low, interval.low],
                                               np.r_[space.high, interval.high])}
    return Box(bounds, name=space.name)
  if interval.names != (TIME,):
    raise ValueError(f"a {type(space).__name__} multiplies only by a time interval"
                     f" of.Interval('t', t0, t1); got {interval!r}")
  return SpaceTime(space, interval)


class SpaceTime(Domain):
  """A spatial domain times the time interval ``[t0, t1]`` (time last)."""

  supports_csg = False

  def __init__(self, space: Domain, interval: Box):
    self.space, self.t0, self.t1 = space, float(interval.low[0]), float(interval.high[0])
    self.names = space.names + (TIME,)
    self.low, self.high = np.r_[space.low, self.t0], np.r_[space.high, self.t1]
    self.name = space.name

  def __repr__(self) -> str:
    return f"{self.space!r} * Interval('t', {self.t0:g}, {self.t1:g})"

  @property
  def duration(self) -> float:
    return self.t1 - self.t0

  @property
  def spatial_measure(self) -> float:
    return self.space.measure

  @property
  def measure(self) -> float:
    return self.space.measure * self.duration

  def contains(self, x, atol: float = 1e-6) -> np.ndarray:
    x = self.as_points(x)
    return self.space.contains(x[..., :-1], atol) & self.in_time(x, np, atol)

  def on_boundary(self, x, atol: float = 1e-6) -> np.ndarray:
    x = self.as_points(x)
    return self.space.on_boundary(x[..., :-1], atol) & self.in_time(x, np, atol)

  def part_names(self) -> tuple[str, ...]:
    return self.space.part_names()

  def resolve_faces(self, on, argname: str = "on"):
    return self.space.resolve_faces(on, argname)

  def part_measure(self, part) -> float:
    return self.space.part_measure(part) * self.duration

  # -- host sampling -------------------------------------------------------------
  def with_time(self, pts, n: int, rng, method: str, t=None) -> np.ndarray:
    if t is None:
      t = self.t0 + sampling.unit_cube(n, 1, method, rng)[:, 0] * self.duration
    return np.concatenate([pts, np.broadcast_to(t, (n,))[:, None]], axis=1)

  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    rng = sampling.rng_of(seed)
    return self.with_time(self.space.sample_interior(n, seed=rng, method=method), n, rng, method)

  def sample_boundary(self, n: int, *, on="boundary", seed=0, method: str = "uniform") -> np.ndarray:
    sampling.check_count(n, "n_boundary"), sampling.check_method(method)
    rng = sampling.rng_of(seed)
    faces = self.resolve_faces(on)
    if callable(faces):
      return self.sample_predicate(n, faces, rng, method)
    pts = self.space.sample_boundary(n, on=faces, seed=rng, method=method)
    return self.with_time(pts, n, rng, method)

  def sample_initial(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points on the initial slice ``t = t0``."""
    sampling.check_count(n, "n_initial")
    pts = self.space.sample_interior(n, seed=sampling.rng_of(seed), method=method)
    return self.with_time(pts, n, None, method, t=self.t0)

  # -- device sampling -----------------------------------------------------------
  def device_time(self, key, pts, dtype, t=None) -> jax.Array:
    n = pts.shape[0]
    if t is None:
      t = self.t0 + jax.random.uniform(key, (n,), dtype) * self.duration
    return jnp.concatenate([pts, jnp.broadcast_to(jnp.asarray(t, dtype), (n,))[:, None]], axis=1)

  def device_interior(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    space_key, time_key = jax.random.split(key)
    return self.device_time(time_key, self.space.device_interior(space_key, n, dtype), dtype)

  def device_boundary(self, key, n: int, faces="boundary", dtype=jnp.float32) -> jax.Array:
    space_key, time_key = jax.random.split(key)
    pts = self.space.device_boundary(space_key, n, faces, dtype)
    return self.device_time(time_key, pts, dtype)

  def device_initial(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    return self.device_time(None, self.space.device_interior(key, n, dtype), dtype, t=self.t0)

  # -- traceable geometry ----------------------------------------------------------
  def normals(self, x, faces=None):
    """The spatial normals with a zero time component."""
    x = jnp.asarray(x)
    n = self.space.normals(x[..., :-1], faces)
    return jnp.concatenate([n, jnp.zeros_like(n[..., :1])], axis=-1)

  def distance(self, x, on="boundary"):
    """The spatial domain's distance function (time does not enter)."""
    return self.space.distance(jnp.asarray(x)[..., :-1], on)
