"""What RAD and RAR-D share: device pools, the residual density, sampling.

Wu, Zhu, Tan, Kartha, Lu (2023), "A comprehensive study of non-adaptive and
residual-based adaptive sampling for physics-informed neural networks", CMAME
403, eq. (2): the sampling density over the domain is

    p(x) ∝ ε(x)^k / E[ε^k] + c,

with ε = |residual|. ``k`` sharpens the density toward large residuals and
``c`` mixes in the uniform density (k=0 or c→∞ is uniform sampling; RAD
defaults k=1, c=1; RAR-D defaults k=2, c=0). The expectation is the mean over
a uniform candidate pool, which is drawn here on device from a key, so a
checkpointed RNG makes every draw reproducible.

Example:
  >>> import jax.numpy as jnp
  >>> from opifex_fit.callbacks._residual_sampling import density
  >>> p = density(jnp.array([0.0, 1.0, 3.0]), k=1.0, c=1.0)  # mean 4/3: (1, 7/4, 13/4) / 6
  >>> [round(float(v), 4) for v in p]
  [0.1667, 0.2917, 0.5417]
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np



def check_count(value, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive int; got {value!r}")
  return int(value)


def check_term_names(terms, name: str = "terms") -> tuple[str, ...]:
  terms = (terms,) if isinstance(terms, str) else terms
  if not isinstance(terms, (list, tuple)) or not terms or \
      not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
    raise ValueError(f"{name} must be a non-empty tuple of distinct loss-term names such as"
                     f" ('pde',); got {terms!r}")
  return tuple(terms)


def resamplable_terms(problem) -> tuple[str, ...]:
  """Terms whose points can be drawn on device: "pde" and conditions on faces."""
  out = ["pde"]
  for cond, name in zip(problem.conditions, problem.condition_names):
    if cond.kind == "initial" or not callable(cond.faces):
      out.append(name)
  return tuple(out)


def check_problem_terms(owner: str, learner, terms) -> None:
  """Refuses a non-PDE problem and terms it cannot resample, listing the real ones."""
  problem = learner.problem
  if not all(hasattr(problem, a) for a in ("pointwise_residuals", "domain", "conditions")):
    raise TypeError(f"{owner} needs an of.PDEProblem (residuals on a domain); the learner's"
                    f" problem is {type(problem).__name__}")
  ok = resamplable_terms(problem)
  for t in terms:
    if t not in ok:
      raise ValueError(f"{owner}: terms has {t!r}, which is not a resamplable loss term of this"
                       f" problem; the resamplable terms are {list(ok)} (all terms:"
                       f" {list(problem.term_names())}; 'data' and conditions with a predicate"
                       " 'on=' cannot be resampled)")


def term_points(data, term):
  """``(points, mask or None)`` of one term of PDE training data."""
  v = data[term]
  return (v["points"], v["mask"]) if isinstance(v, Mapping) else (v, None)


def density(eps, k: float, c: float) -> jax.Array:
  """Normalised ``p ∝ eps^k / mean(eps^k) + c`` over a pool (Wu et al. 2023, eq. 2).

  Non-finite residuals weigh 0; an all-zero ``eps^k`` with ``c = 0`` falls
  back to the uniform density rather than dividing by zero.
  """
  ek = jnp.where(jnp.isfinite(eps), eps, 0.0) ** k
  mean = jnp.mean(ek)
  w = jnp.where(mean > 0, ek / jnp.where(mean > 0, mean, 1.0), 0.0) + c
  total = jnp.sum(w)
  return jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 1.0 / w.shape[0])


def choose_without_replacement(key, p, n: int) -> jax.Array:
  """``n`` distinct pool indices drawn one after another with probabilities ``p``.

  The Gumbel-top-k trick: the ``n`` largest ``log p + Gumbel`` are
  distributed exactly like successive draws without replacement (what
  ``numpy.random.choice(replace=False, p=p)`` does), in one ``top_k``.
  """
  g = jax.random.gumbel(key, p.shape, p.dtype)
  return jax.lax.top_k(jnp.log(p) + g, n)[1]


def abs_residuals(r) -> jax.Array:
  """``|residual|`` per point: ``(m,)`` as is, the Euclidean norm over the
  components of a system's ``(m, k)``."""
  return jnp.sqrt(jnp.sum(jnp.abs(r) ** 2, axis=-1)) if r.ndim > 1 else jnp.abs(r)
