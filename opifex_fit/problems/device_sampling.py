"""Collocation points drawn inside jitted code (``cb.Resample``, RAD/RAR-D pools).

The host samplers of a domain use NumPy (Sobol, Halton, predicates). Fresh
points at every step must be drawn on the device from a JAX key instead, with
fixed shapes: every domain answers ``device_interior``, ``device_boundary``
(on named parts, spread by their measure) and, with a time coordinate,
``device_initial`` (``opifex_fit.geometry``: boxes exactly, curved and CSG
domains by oversampling with a fixed count). This module maps a PDE loss term
to the right one.

Example:
  >>> import jax, jax.numpy as jnp, numpy as np
  >>> import opifex_fit as of
  >>> from opifex_fit.problems import device_sampling
  >>> plate = of.Box({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}) - of.Disk((0.0, 0.0), 0.5, name="hole")
  >>> problem = of.PDEProblem(lambda x, u, d: d["laplacian"], plate, [of.DirichletBC(0.0, on="hole")])
  >>> draw = device_sampling.term_sampler(problem, "bc")
  >>> rim = jax.jit(draw, static_argnums=(1, 2))(jax.random.key(0), 64, jnp.float32)
  >>> bool(np.allclose(np.linalg.norm(np.asarray(rim), axis=1), 0.5, atol=1e-5))
  True
"""

from __future__ import annotations

from collections.abc import Mapping


def term_sampler(problem, term: str):
  """``draw(key, n, dtype) -> (n, dim)`` for a PDE term: interior points for
  ``"pde"``, the condition's boundary parts (or the initial slice) for a
  condition. ValueError for terms that cannot be drawn on the device
  (observations, predicate boundaries)."""
  domain = problem.domain
  if term == "pde":
    return lambda key, n, dtype: domain.device_interior(key, n, dtype)
  names = list(problem.condition_names)
  if term not in names:
    raise ValueError(f"term {term!r} cannot be resampled: only 'pde' and the condition terms "
                     f"{names} hold collocation points")
  cond = problem.conditions[names.index(term)]
  if cond.kind == "initial":
    return lambda key, n, dtype: domain.device_initial(key, n, dtype)
  faces = cond.faces
  if callable(faces):
    raise ValueError(f"term {term!r}: its condition lives on a predicate (on=<function>), "
                     "which cannot be sampled on the device; resample 'pde' only")
  return lambda key, n, dtype: domain.device_boundary(key, n, faces, dtype)


def points_of(value):
  """The points array of a data term (``{"points", "mask"}`` or an array)."""
  return value["points"] if isinstance(value, Mapping) else value


def with_points(value, points):
  """``value`` with its points replaced (a mask, e.g. mesh padding, is kept)."""
  return dict(value, points=points) if isinstance(value, Mapping) else points
