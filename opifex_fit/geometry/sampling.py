"""Shared sampling helpers: argument checks, quasi-random unit cubes, rejection
on the host and on the device.

Device rejection keeps shapes fixed: it draws a known, larger number of
candidates (from a known acceptance rate), keeps the first ``n`` accepted ones
in order (a stable sort on the rejection mask), and fills any shortfall from a
fixed pool of valid points made once on the host, so every returned point is
valid and the same key gives the same points.

Example:
  >>> import jax, jax.numpy as jnp, numpy as np
  >>> from opifex_fit.geometry import sampling
  >>> cand = jnp.array([[0.1], [0.9], [0.2], [0.8]])
  >>> pool = np.array([[0.5]])
  >>> kept = sampling.keep_accepted(cand, cand[:, 0] < 0.5, 3, pool, jax.random.key(0))
  >>> np.asarray(kept[:, 0], float).round(3).tolist()
  [0.1, 0.2, 0.5]
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

TIME = "t"
METHODS = ("uniform", "sobol", "halton")
POOL_SIZE = 4096  # valid points kept for the rare device draws with too few accepted candidates


def rng_of(seed) -> np.random.Generator:
  """``seed`` as a Generator (an int seeds a new one; a Generator is used as is)."""
  return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_count(n, argname: str) -> None:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
    raise ValueError(f"{argname} must be a positive int number of points; got {n!r}")


def check_method(method) -> None:
  if method not in METHODS:
    raise ValueError(f"method must be one of {METHODS}; got {method!r}")


def engine(d: int, method: str, rng: np.random.Generator):
  """A ``draw(m) -> (m, d)`` function in the unit cube; successive calls continue
  one quasi-random sequence (so rejection keeps its low discrepancy)."""
  if method == "uniform" or d == 0:
    return lambda m: rng.random((m, d))
  eng = (qmc.Sobol if method == "sobol" else qmc.Halton)(d, scramble=True, seed=rng)

  def draw(m):
    with warnings.catch_warnings():  # Sobol prefers powers of two; any m is still valid.
      warnings.simplefilter("ignore")
      return eng.random(m)
  return draw


def unit_cube(n: int, d: int, method: str, rng: np.random.Generator) -> np.ndarray:
  return engine(d, method, rng)(n)


def spread(n: int, measures) -> np.ndarray:
  """Integer counts summing to ``n`` in proportion to ``measures`` (largest remainder)."""
  measures = np.asarray(measures, float)
  share = n * measures / measures.sum()
  counts = np.floor(share).astype(int)
  counts[np.argsort(-(share - counts))[: n - counts.sum()]] += 1
  return counts


def oversampled(n: int, acceptance: float) -> int:
  """Candidates to draw so that ``n`` are accepted but with negligible probability
  (binomial mean minus six standard deviations still reaches ``n``)."""
  p = min(max(acceptance, 1e-6), 1.0)
  if p >= 1.0:
    return n
  s = 3.0 * math.sqrt(1 - p)  # solve m p - 6 sqrt(m p (1-p)) = n for sqrt(m p)
  root = s + math.sqrt(s * s + n)
  return int(math.ceil(root * root / p)) + 8


def host_rejection(n: int, draw, accept, acceptance: float) -> np.ndarray:
  """The first ``n`` candidates of ``draw(m)`` that pass ``accept``."""
  found, total = [], 0
  for _ in range(1000):
    cand = draw(oversampled(n - total, acceptance))
    keep = cand[accept(cand)]
    found.append(keep)
    total += len(keep)
    if total >= n:
      return np.concatenate(found)[:n]
  raise ValueError(f"rejection sampling accepted only {total} of the {n} points asked for;"
                   " the domain is empty or far smaller than its bounding box")


def keep_accepted(candidates, accepted, n: int, pool, key) -> jax.Array:
  """The first ``n`` accepted candidates (fixed shape); a shortfall is filled with
  points of ``pool`` chosen by ``key``."""
  order = jnp.argsort(jnp.logical_not(accepted).astype(jnp.int32), stable=True)
  chosen = candidates[order[:n]]
  enough = jnp.arange(n) < jnp.sum(accepted)
  pool = jnp.asarray(pool, candidates.dtype)
  fill = pool[jax.random.randint(key, (n,), 0, pool.shape[0])]
  return jnp.where(enough[:, None], chosen, fill)


def device_tolerance(dtype, scale: float) -> float:
  """How far from zero a level function may be for a point on a boundary piece."""
  return 64.0 * float(jnp.finfo(dtype).eps) * scale
