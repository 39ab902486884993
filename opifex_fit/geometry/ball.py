"""Balls in any dimension (``Disk`` is the 2-D one), sampled exactly.

Interior points use a direction (normalized Gaussian, or the angle in 2-D)
and a radius ``r * u^(1/d)``; quasi-random methods map a Sobol or Halton point
of the unit cube through the same transform, so no rejection is needed in any
dimension (a 5-D ball fills only 16% of its bounding box).

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> disk = of.Disk((0.0, 0.0), 2.0)
  >>> round(disk.measure, 6), round(disk.part_measure("disk"), 6)  # 4 pi, 4 pi
  (12.566371, 12.566371)
  >>> rim = disk.sample_boundary(3, seed=0)
  >>> np.hypot(rim[:, 0], rim[:, 1]).round(12).tolist()
  [2.0, 2.0, 2.0]
  >>> np.asarray(disk.normals(np.array([0.0, -2.0]))).tolist()
  [0.0, -1.0]
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtri

from opifex_fit.geometry import sampling
from opifex_fit.geometry.base import Domain, Piece, check_names, check_part_name


def default_names(d: int) -> tuple[str, ...]:
  return ("x", "y", "z")[:d] if d <= 3 else tuple(f"x{i + 1}" for i in range(d))


class Ball(Domain):
  """A closed ball ``|x - center| <= radius`` in any dimension.

  Args:
    center: sequence of ``d`` numbers.
    radius: a positive number.
    names: the ``d`` coordinate names (default ``x, y, z`` up to 3-D, else
      ``x1 .. xd``); "t" is refused (use ``ball * of.Interval("t", ...)``).
    name: the part name of its sphere (default ``"ball"``).

  Example:
    >>> import opifex_fit as of
    >>> ball = of.Ball((0, 0, 0, 0, 0), 1.0)  # PINNacle's HNd domain
    >>> ball.names, round(ball.measure, 6)  # 8 pi^2 / 15
    (('x1', 'x2', 'x3', 'x4', 'x5'), 5.263789)
  """

  default_part = "ball"

  def __init__(self, center, radius, names=None, *, name: str | None = None):
    try:
      center = np.asarray(center, float).reshape(-1)
    except (TypeError, ValueError) as e:
      raise ValueError(f"center must be a sequence of numbers; got {center!r}") from e
    names = default_names(center.size) if names is None else check_names(names)
    if center.size != len(names) or not center.size:
      raise ValueError(f"center has {center.size} coordinates but names={names!r} has"
                       f" {len(names)}; expected one center coordinate per name")
    if sampling.TIME in names:
      raise ValueError(f"names={names!r}: a ball is spatial; build space-time as"
                       " ball * of.Interval('t', t0, t1)")
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.number)) \
        or not math.isfinite(radius) or radius <= 0:
      raise ValueError(f"radius must be a positive finite number; got {radius!r}")
    if not np.all(np.isfinite(center)):
      raise ValueError(f"center must be finite; got {center.tolist()}")
    self.names, self.center, self.radius = names, center, float(radius)
    self.low, self.high = center - self.radius, center + self.radius
    self.name = check_part_name(name, self.default_part)
    self.ball_pieces = (Piece(self, self.name, False),)

  def __repr__(self) -> str:
    return (f"{type(self).__name__}(center={self.center.tolist()}, radius={self.radius:g},"
            f" names={self.names}, name={self.name!r})")

  @property
  def measure(self) -> float:
    d = self.dim
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius ** d

  def piece_measure(self, name: str) -> float:
    return self.dim * self.measure / self.radius  # surface = d V / r (2 points in 1-D)

  def level(self, x, xp=np):
    return xp.linalg.norm(x - self.center, axis=-1) - self.radius

  def pieces(self):
    return self.ball_pieces

  def groups(self):
    return {self.name: (0,)}

  # -- sampling ----------------------------------------------------------------
  def directions(self, u, xp=np):
    """Unit vectors from points ``u`` of the unit cube (``d`` columns; 1 in 2-D)."""
    if self.dim == 1:
      return xp.where(u[:, :1] < 0.5, -1.0, 1.0)
    if self.dim == 2:
      angle = 2 * math.pi * u[:, 0]
      return xp.stack([xp.cos(angle), xp.sin(angle)], axis=-1)
    g = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return g / np.linalg.norm(g, axis=-1, keepdims=True)

  def direction_dims(self) -> int:
    return 1 if self.dim <= 2 else self.dim

  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points in the ball, shape ``(n, dim)``."""
    sampling.check_count(n, "n_interior"), sampling.check_method(method)
    k = self.direction_dims()
    u = sampling.unit_cube(n, k + 1, method, sampling.rng_of(seed))
    r = self.radius * u[:, k:] ** (1.0 / self.dim)
    return self.center + r * self.directions(u[:, :k])

  def sample_piece(self, name: str, n: int, rng, method: str) -> np.ndarray:
    u = sampling.unit_cube(n, self.direction_dims(), method, rng)
    return self.center + self.radius * self.directions(u)

  def device_directions(self, key, n: int, dtype) -> jax.Array:
    if self.dim <= 2:
      return self.directions(jax.random.uniform(key, (n, 1), dtype), jnp)
    g = jax.random.normal(key, (n, self.dim), dtype)
    return g / jnp.linalg.norm(g, axis=-1, keepdims=True)

  def device_interior(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points in the ball (traceable, exact)."""
    direction_key, radius_key = jax.random.split(key)
    r = self.radius * jax.random.uniform(radius_key, (n, 1), dtype) ** (1.0 / self.dim)
    return jnp.asarray(self.center, dtype) + r * self.device_directions(direction_key, n, dtype)

  def device_piece(self, name: str, key, n: int, dtype) -> jax.Array:
    return jnp.asarray(self.center, dtype) + self.radius * self.device_directions(key, n, dtype)

  # -- traceable geometry ------------------------------------------------------
  def piece_on(self, name: str, x, tol: float, xp=jnp):
    return xp.abs(self.level(x, xp)) <= tol

  def piece_normal(self, name: str, x, xp=jnp):
    v = x - self.center.astype(x.dtype)
    norm = xp.linalg.norm(v, axis=-1, keepdims=True)
    return v / xp.where(norm > 0, norm, 1.0)

  def adf(self, x):
    """``(r^2 - |x - c|^2) / (2 r)``: positive inside, unit gradient on the sphere."""
    v = x - jnp.asarray(self.center, x.dtype)
    return (self.radius ** 2 - jnp.sum(v * v, axis=-1)) / (2 * self.radius)

  def piece_distance(self, name: str, x):
    return jnp.abs(self.adf(x))


class Disk(Ball):
  """A closed disk, the 2-D ``Ball`` (default part name ``"disk"``).

  Example:
    >>> import opifex_fit as of
    >>> hole = of.Disk((0.5, 0.5), 0.1, name="hole")
    >>> hole.part_names(), round(hole.part_measure("hole"), 6)
    (('hole',), 0.628319)
  """

  default_part = "disk"

  def __init__(self, center, radius, names=("x", "y"), *, name: str | None = None):
    names = check_names(names)
    if len(names) != 2:
      raise ValueError(f"names must hold 2 coordinates for a Disk; got {names!r} (use of.Ball)")
    super().__init__(center, radius, names, name=name)
