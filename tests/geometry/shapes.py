"""Shared shapes and helpers for the geometry tests."""

import jax
import jax.numpy as jnp
import numpy as np

import opifex_fit as of

CENTERS = [(0.3, 0.3), (-0.3, 0.3), (0.3, -0.3), (-0.3, -0.3)]
ELL = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]


def plate_with_holes():
  """PINNacle's Poisson2d-C domain: [-0.5, 0.5]^2 minus four disks of radius 0.1."""
  plate = of.Box({"x": (-0.5, 0.5), "y": (-0.5, 0.5)}, name="plate")
  for c in CENTERS:
    plate = plate - of.Disk(c, 0.1, name="hole")
  return plate


def rim_distance(pts):
  """Distance of each point to the nearest hole rim of ``plate_with_holes``."""
  pts = np.asarray(pts, float)
  return np.min([np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - 0.1) for cx, cy in CENTERS], axis=0)


def normals(domain, x, faces=None):
  """The domain's normals at ``x``, jitted (one compile instead of op-by-op)."""
  return np.asarray(jax.jit(lambda p: domain.normals(p, faces))(jnp.asarray(x, jnp.float32)))
