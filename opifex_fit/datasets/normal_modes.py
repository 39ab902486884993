"""Normal-mode sampling: geometries of a thermal harmonic ensemble (Bohr).

Given the Cartesian Hessian at a reference geometry, each vibrational normal
mode ``k`` (angular frequency ``w_k``, mass-weighted coordinate ``q_k``) gets
an independent classical Boltzmann amplitude ``q_k ~ N(0, sqrt(kB T) / w_k)``,
so each mode holds ``kB T / 2`` of potential energy on average; translations
and rotations (the 6, or 5 for a linear molecule, softest modes) are left out.
Pure numpy; ``pyscf_pes.water_pes(sampling="normal_modes")`` supplies the
Hessian from PySCF.

Example:
  >>> hessian = np.zeros((2, 3, 2, 3)); k = 0.37   # H2: a spring along x
  >>> hessian[0, 0, 0, 0] = hessian[1, 0, 1, 0] = k
  >>> hessian[0, 0, 1, 0] = hessian[1, 0, 0, 0] = -k
  >>> r0 = np.array([[0.0, 0, 0], [1.4, 0, 0]])
  >>> normal_mode_displacements((1, 1), r0, hessian, 3).shape
  (3, 2, 3)
"""

from __future__ import annotations

import numpy as np

AMU_TO_ELECTRON_MASS = 1822.888486
KELVIN_TO_HARTREE = 3.166811563e-6
# Most abundant isotopes (amu), for the elements small PES data sets use.
MASSES = {1: 1.00782503, 6: 12.0, 7: 14.00307401, 8: 15.99491462, 9: 18.99840316}


def _masses(atomic_numbers, masses):
  if masses is None:
    missing = sorted({int(z) for z in atomic_numbers} - set(MASSES))
    if missing:
      raise ValueError(f"no built-in mass for atomic numbers {missing}; pass masses= (amu), "
                       f"one per atom")
    masses = [MASSES[int(z)] for z in atomic_numbers]
  masses = np.asarray(masses, np.float64)
  if masses.shape != (len(atomic_numbers),) or np.any(masses <= 0):
    raise ValueError(f"masses must be {len(atomic_numbers)} positive numbers (amu); "
                     f"got {masses!r}")
  return masses * AMU_TO_ELECTRON_MASS


def vibrational_modes(atomic_numbers, reference, hessian, masses=None):
  """``(omega (modes,), cartesian (modes, atoms, 3))``: angular frequencies in
  atomic units and the Cartesian displacement per unit mass-weighted
  coordinate of each vibrational mode (softest external modes removed)."""
  reference = np.asarray(reference, np.float64)
  n = len(atomic_numbers)
  if reference.shape != (n, 3):
    raise ValueError(f"reference must have shape ({n}, 3); got {reference.shape}")
  hessian = np.asarray(hessian, np.float64).reshape(3 * n, -1)
  if hessian.shape != (3 * n, 3 * n):
    raise ValueError(f"hessian must have {(3 * n) ** 2} entries, (atoms, 3, atoms, 3) or "
                     f"(3 atoms, 3 atoms); got shape {np.shape(hessian)}")
  inv_sqrt_m = np.repeat(_masses(atomic_numbers, masses), 3) ** -0.5
  weighted = inv_sqrt_m[:, None] * 0.5 * (hessian + hessian.T) * inv_sqrt_m[None]
  eigvals, eigvecs = np.linalg.eigh(weighted)
  centred = reference - reference.mean(0)
  linear = n == 2 or np.linalg.svd(centred, compute_uv=False)[1] < 1e-8
  external = 5 if linear else 6
  keep = np.sort(np.argsort(np.abs(eigvals))[external:])
  if np.any(eigvals[keep] <= 0):
    raise ValueError(f"the hessian has {int(np.sum(eigvals[keep] <= 0))} negative vibrational "
                     f"curvature(s): the reference is not near a minimum")
  cartesian = (inv_sqrt_m[:, None] * eigvecs[:, keep]).T.reshape(len(keep), n, 3)
  return np.sqrt(eigvals[keep]), cartesian


def normal_mode_displacements(atomic_numbers, reference, hessian, n: int, *,
                              temperature: float = 1000.0, masses=None,
                              seed: int = 0) -> np.ndarray:
  """``n`` geometries ``(n, atoms, 3)`` of the classical harmonic ensemble at
  ``temperature`` (K) around ``reference``; the first is the reference."""
  if isinstance(n, bool) or not isinstance(n, int) or n < 1:
    raise ValueError(f"n must be a positive int; got {n!r}")
  if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
      or not temperature > 0:
    raise ValueError(f"temperature must be a positive number (K); got {temperature!r}")
  omega, cartesian = vibrational_modes(atomic_numbers, reference, hessian, masses)
  q = np.random.default_rng(seed).normal(size=(n, len(omega)))
  q *= np.sqrt(temperature * KELVIN_TO_HARTREE) / omega
  q[0] = 0.0
  return np.asarray(reference, np.float64)[None] + np.einsum("nk,kai->nai", q, cartesian)
