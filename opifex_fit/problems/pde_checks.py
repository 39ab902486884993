"""Checks of PDEProblem's arguments, run on the host before anything compiles."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np


def takes_model(fn) -> bool:
  """True when the residual takes the model as a 4th argument."""
  try:
    sig = inspect.signature(fn)
  except (TypeError, ValueError):
    return False
  if accepts(sig, 4):
    return True
  if accepts(sig, 3):
    return False
  raise TypeError(f"residual must take (x, u, d) or (x, u, d, model); got signature {sig}")


def accepts(sig, n) -> bool:
  try:
    sig.bind(*range(n))
    return True
  except TypeError:
    return False


DOMAIN_PROTOCOL = ("names", "dim", "spatial", "has_time", "low", "high", "index", "resolve_faces",
                   "sample_interior", "sample_boundary", "normals")


def check_domain(domain) -> None:
  """Refuses an object that is not a domain (``of.Box``, ``of.Disk``, CSG, ...)."""
  missing = [a for a in DOMAIN_PROTOCOL if not hasattr(domain, a)]
  if missing:
    raise TypeError(f"domain must be an opifex_fit domain (of.Box, of.Interval, of.Disk, of.Ball,"
                    f" of.Polygon, of.PointCloud, CSG of them); got {domain!r}, which lacks"
                    f" {missing}")


def check_points(v, dim, where, domain) -> int:
  shape = np.shape(v)
  if len(shape) != 2 or shape[1] != dim or shape[0] == 0:
    raise ValueError(f"{where} must have shape (n, {dim}) with n > 0 for coordinates"
                     f" {list(domain.names)}; got {shape}")
  return shape[0]


def check_observations(obs, domain):
  if not (isinstance(obs, (tuple, list)) and len(obs) == 2):
    raise ValueError(f"observations must be a pair (x_obs, u_obs); got {type(obs).__name__}")
  x, u = np.asarray(obs[0]), np.asarray(obs[1])
  check_points(x, domain.dim, "observations[0]", domain)
  if u.ndim not in (1, 2) or u.shape[0] != x.shape[0]:
    raise ValueError(f"observations[1] must have shape ({x.shape[0]},) or ({x.shape[0]}, k);"
                     f" got {u.shape}")
  for a, name in ((x, "observations[0]"), (u, "observations[1]")):
    if not np.all(np.isfinite(a)):
      raise ValueError(f"{name} holds non-finite values; expected finite data")
  return x, u


def check_weights(weights, terms) -> dict:
  if weights is None:
    return {}
  if not isinstance(weights, Mapping):
    raise TypeError(f"weights must be a dict term -> float; got {weights!r}")
  for k, w in weights.items():
    if k not in terms:
      raise ValueError(f"weights has unknown term {k!r}; the terms are {list(terms)}")
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
      raise ValueError(f"weights[{k!r}] must be a finite number >= 0; got {w!r}")
  return dict(weights)
