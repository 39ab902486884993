"""Interior sampling by rejection from the bounding box, for domains without an
exact sampler (polygons, CSG).

The acceptance rate is the domain's measure over its bounding box's volume, so
host sampling draws quasi-random points in batches sized from it, and device
sampling draws a fixed number of candidates from it (see ``sampling``).

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> tri = of.Polygon([(0, 0), (1, 0), (0, 1)])
  >>> round(tri.bbox_acceptance(), 3)
  0.5
  >>> pts = tri.sample_interior(100, seed=0, method="sobol")
  >>> bool(np.all(pts.sum(axis=1) <= 1))
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.geometry import sampling


class RejectionInterior:
  """``sample_interior`` / ``device_interior`` from ``level``, ``measure`` and the box."""

  def bbox_acceptance(self) -> float:
    return self.measure / float(np.prod(self.high - self.low))

  def sample_interior(self, n: int, *, seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points in the domain (quasi-random in the bounding box, then rejection)."""
    sampling.check_count(n, "n_interior"), sampling.check_method(method)
    draw = sampling.engine(self.dim, method, sampling.rng_of(seed))
    span = self.high - self.low
    return sampling.host_rejection(n, lambda m: self.low + draw(m) * span,
                                   lambda c: self.level(c, np) <= 0, self.bbox_acceptance())

  def device_interior(self, key, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points in the domain (traceable, fixed shape, always valid)."""
    m = sampling.oversampled(n, self.bbox_acceptance())
    cand_key, fill_key = jax.random.split(key)
    low, high = jnp.asarray(self.low, dtype), jnp.asarray(self.high, dtype)
    cand = low + jax.random.uniform(cand_key, (m, self.dim), dtype) * (high - low)
    ok = self.level(cand, jnp) <= 0
    return sampling.keep_accepted(cand, ok, n, self.interior_pool(), fill_key)

  def interior_pool(self) -> np.ndarray:
    if "interior_points" not in self.__dict__:
      self.interior_points = self.sample_interior(sampling.POOL_SIZE, seed=0)
    return self.interior_points
