"""Uniform collocation points drawn inside jitted code (``cb.Resample``).

The host samplers of ``Box`` use NumPy (Sobol, Halton, predicates). Fresh
points at every step must be drawn on the device from a JAX key instead, so
this module draws them uniformly: interior points in the box, and points on
a set of faces with each face chosen in proportion to its measure (as
``Box.sample_boundary`` spreads them).

Example:
  >>> import jax, jax.numpy as jnp
  >>> import opifex_fit as of
  >>> from opifex_fit.problems import device_sampling
  >>> box = of.Box({"x": (0.0, 2.0), "t": (0.0, 1.0)})
  >>> pts = device_sampling.interior(box, jax.random.key(0), 1000, jnp.float32)
  >>> bool(jnp.all((pts >= box.low) & (pts <= box.high)))
  True
  >>> face = device_sampling.on_faces(box, ("x_min",), jax.random.key(1), 5, jnp.float32)
  >>> face[:, 0].tolist()
  [0.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np


def interior(domain, key, n: int, dtype) -> jax.Array:
  """``n`` uniform points in ``domain``, shape ``(n, dim)``."""
  low, high = jnp.asarray(domain.low, dtype), jnp.asarray(domain.high, dtype)
  return low + jax.random.uniform(key, (n, domain.dim), dtype) * (high - low)


def on_faces(domain, faces, key, n: int, dtype) -> jax.Array:
  """``n`` uniform points on the union of ``faces`` (face names)."""
  faces = tuple(faces)
  face_key, point_key = jax.random.split(key)
  measures = np.array([domain.face_measure(f) for f in faces])
  which = jax.random.choice(face_key, len(faces), (n,), p=jnp.asarray(measures / measures.sum()))
  pts = interior(domain, point_key, n, dtype)
  for k, face in enumerate(faces):
    c, side = face.rsplit("_", 1)
    i = domain.index(c)
    at = domain.low[i] if side == "min" else domain.high[i]
    pts = pts.at[:, i].set(jnp.where(which == k, jnp.asarray(at, dtype), pts[:, i]))
  return pts


def term_sampler(problem, term: str):
  """``draw(key, n, dtype) -> (n, dim)`` for a PDE term: interior points for
  ``"pde"``, the condition's faces for a condition. ValueError for terms that
  cannot be drawn on the device (observations, predicate boundaries)."""
  if term == "pde":
    return lambda key, n, dtype: interior(problem.domain, key, n, dtype)
  names = list(problem.condition_names)
  if term not in names:
    raise ValueError(f"term {term!r} cannot be resampled: only 'pde' and the condition terms "
                     f"{names} hold collocation points")
  faces = problem.conditions[names.index(term)].faces
  if callable(faces):
    raise ValueError(f"term {term!r}: its condition lives on a predicate (on=<function>), "
                     "which cannot be sampled on the device; resample 'pde' only")
  return lambda key, n, dtype: on_faces(problem.domain, faces, key, n, dtype)


def points_of(value):
  """The points array of a data term (``{"points", "mask"}`` or an array)."""
  return value["points"] if isinstance(value, Mapping) else value


def with_points(value, points):
  """``value`` with its points replaced (a mask, e.g. mesh padding, is kept)."""
  return dict(value, points=points) if isinstance(value, Mapping) else points
