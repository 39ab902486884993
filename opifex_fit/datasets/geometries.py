"""Geometry samplers for potential-energy-surface data sets (Bohr).

Example:
  >>> water_displacements(4, seed=0).shape
  (4, 3, 3)
  >>> h2_curve(5)[:, 1, 0]
  array([1. , 1.5, 2. , 2.5, 3. ])
"""

from __future__ import annotations

import numpy as np

ANGSTROM_TO_BOHR = 1.0 / 0.529177210903
WATER_ATOMS = (8, 1, 1)
H2_ATOMS = (1, 1)


def _positive(value, name):
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
      or not np.isfinite(value):
    raise ValueError(f"{name} must be a finite positive number; got {value!r}")
  return float(value)


def _count(value, name):
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f"{name} must be a positive int; got {value!r}")
  return value


def water_equilibrium(r_oh: float = 0.9572, angle_deg: float = 104.52) -> np.ndarray:
  """Water ``(3, 3)`` in Bohr, atoms O, H, H (default: the experimental
  geometry, bond length in Angstrom)."""
  r, a = _positive(r_oh, "r_oh") * ANGSTROM_TO_BOHR, np.deg2rad(_positive(angle_deg, "angle_deg"))
  return np.array([[0.0, 0.0, 0.0], [r, 0.0, 0.0], [r * np.cos(a), r * np.sin(a), 0.0]])


def random_displacements(reference, n: int, *, sigma: float = 0.1, seed: int = 0) -> np.ndarray:
  """``n`` copies of ``reference (atoms, 3)`` with independent Gaussian
  Cartesian displacements of standard deviation ``sigma`` (Bohr) per
  coordinate; the first copy is the reference itself."""
  reference = np.asarray(reference, np.float64)
  if reference.ndim != 2 or reference.shape[1] != 3:
    raise ValueError(f"reference must have shape (atoms, 3); got {reference.shape}")
  n, sigma = _count(n, "n"), _positive(sigma, "sigma")
  noise = np.random.default_rng(seed).normal(0.0, sigma, (n, *reference.shape))
  noise[0] = 0.0
  return reference[None] + noise


def water_displacements(n: int, *, sigma: float = 0.1, seed: int = 0) -> np.ndarray:
  """``n`` randomly displaced water geometries ``(n, 3, 3)`` in Bohr."""
  return random_displacements(water_equilibrium(), n, sigma=sigma, seed=seed)


def h2_curve(n: int, *, r_min: float = 1.0, r_max: float = 3.0) -> np.ndarray:
  """H2 at ``n`` bond lengths evenly spaced over ``[r_min, r_max]`` Bohr (the
  equilibrium is 1.4 Bohr; 3 Bohr is well on the way to dissociation), along x."""
  n, r_min, r_max = _count(n, "n"), _positive(r_min, "r_min"), _positive(r_max, "r_max")
  if r_max < r_min:
    raise ValueError(f"r_max must be >= r_min; got r_min={r_min}, r_max={r_max}")
  out = np.zeros((n, 2, 3))
  out[:, 1, 0] = np.linspace(r_min, r_max, n)
  return out
