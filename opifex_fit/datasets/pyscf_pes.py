"""Energies and analytic forces from PySCF (the optional ``[chem]`` extra).

Everything is in atomic units: positions in Bohr, energies in Hartree,
forces ``-dE/dR`` in Hartree/Bohr. A geometry whose SCF does not converge
within ``scf_max_iterations`` (PySCF's ``max_cycle``) is excluded, and a
warning names its index; the indices are also returned (and cached) as
``excluded``, so an unconverged point is never kept silently.

Example (needs ``pip install opifex-fit[chem]``):
  >>> (pos, e, f), excluded = h2_pes(3, cache_dir=None)  # doctest: +SKIP
  >>> pos.shape, e.shape, f.shape, excluded               # doctest: +SKIP
  ((3, 2, 3), (3,), (3, 2, 3), array([], dtype=int64))
"""

from __future__ import annotations

import warnings

import numpy as np

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.geometries import (
  H2_ATOMS,
  WATER_ATOMS,
  h2_curve,
  water_displacements,
  water_equilibrium,
)
from opifex_fit.datasets.normal_modes import normal_mode_displacements


def _pyscf():
  try:
    from pyscf import dft, gto, scf
  except ImportError as e:
    raise ImportError("opifex_fit.datasets PES data need PySCF: pip install opifex-fit[chem]"
                      " (or pip install pyscf)") from e
  return gto, scf, dft


def _check_positions(atomic_numbers, positions):
  positions = np.asarray(positions, np.float64)
  n_atoms = len(atomic_numbers)
  if positions.ndim != 3 or positions.shape[1:] != (n_atoms, 3):
    raise ValueError(f"positions must have shape (N, {n_atoms}, 3) for atomic_numbers "
                     f"{list(atomic_numbers)}; got {positions.shape}")
  return positions


def _check_iterations(value):
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f"scf_max_iterations must be a positive int; got {value!r}")
  return value


def _scf(atomic_numbers, positions, method, basis, scf_max_iterations, conv_tol):
  gto, scf, dft = _pyscf()
  mol = gto.M(atom=[(int(z), tuple(map(float, r))) for z, r in zip(atomic_numbers, positions)],
              basis=basis, unit="Bohr", verbose=0)
  if method.lower() == "hf":
    mf = scf.RHF(mol)
  else:
    mf = dft.RKS(mol)
    mf.xc = method
  mf.chkfile, mf.max_cycle, mf.conv_tol, mf.verbose = None, scf_max_iterations, conv_tol, 0
  return mf


def single_point(atomic_numbers, positions, *, method: str = "hf", basis: str = "sto-3g",
                 scf_max_iterations: int = 100, conv_tol: float = 1e-10):
  """``(energy, forces (atoms, 3), converged)`` for one geometry in Bohr.

  ``method`` is ``"hf"`` (restricted Hartree-Fock) or a PySCF exchange-
  correlation name such as ``"pbe"`` or ``"b3lyp"`` (restricted Kohn-Sham);
  closed shells only. Forces are PySCF's analytic nuclear gradients, negated.
  """
  mf = _scf(atomic_numbers, positions, method, basis, scf_max_iterations, conv_tol)
  energy = float(mf.kernel())
  if not mf.converged:
    return energy, None, False
  grad = mf.nuc_grad_method()
  grad.verbose = 0
  return energy, -np.asarray(grad.kernel()), True


def hessian(atomic_numbers, positions, *, method: str = "hf", basis: str = "sto-3g",
            scf_max_iterations: int = 100, conv_tol: float = 1e-10) -> np.ndarray:
  """PySCF's analytic Hessian ``(atoms, 3, atoms, 3)`` in Hartree/Bohr^2."""
  mf = _scf(atomic_numbers, np.asarray(positions, np.float64), method, basis,
            _check_iterations(scf_max_iterations), conv_tol)
  mf.kernel()
  if not mf.converged:
    raise RuntimeError(f"the SCF at the reference geometry did not converge within "
                       f"scf_max_iterations={scf_max_iterations}; no Hessian")
  return np.asarray(mf.Hessian().kernel()).transpose(0, 2, 1, 3)


def compute_pes(atomic_numbers, positions, *, method: str = "hf", basis: str = "sto-3g",
                scf_max_iterations: int = 100, conv_tol: float = 1e-10) -> dict:
  """SCF energies and forces for every geometry of ``positions (N, atoms, 3)``.

  Returns ``{"positions", "energies", "forces"}`` for the converged geometries
  and ``"excluded"``, the indices (into ``positions``) of the unconverged ones,
  which are also named in a ``RuntimeWarning``.
  """
  out = _compute(atomic_numbers, positions, method=method, basis=basis,
                 scf_max_iterations=scf_max_iterations, conv_tol=conv_tol)
  warn_excluded(out["excluded"], len(positions), scf_max_iterations)
  return out


def _compute(atomic_numbers, positions, *, method, basis, scf_max_iterations, conv_tol=1e-10):
  positions = _check_positions(atomic_numbers, positions)
  _check_iterations(scf_max_iterations)
  if not isinstance(method, str) or not isinstance(basis, str):
    raise TypeError(f"method and basis must be strings (e.g. 'hf', 'sto-3g'); got "
                    f"{method!r}, {basis!r}")
  keep, energies, forces, excluded = [], [], [], []
  for i, r in enumerate(positions):
    e, f, ok = single_point(atomic_numbers, r, method=method, basis=basis,
                            scf_max_iterations=scf_max_iterations, conv_tol=conv_tol)
    if ok:
      keep.append(i)
      energies.append(e)
      forces.append(f)
    else:
      excluded.append(i)
  return {"positions": positions[keep], "energies": np.asarray(energies, np.float64),
          "forces": np.asarray(forces, np.float64).reshape(len(keep), *positions.shape[1:]),
          "excluded": np.asarray(excluded, np.int64)}


def warn_excluded(excluded, n_total: int, scf_max_iterations: int) -> None:
  if len(excluded):
    warnings.warn(f"{len(excluded)} of {n_total} geometries did not converge within "
                  f"scf_max_iterations={scf_max_iterations} and were excluded: indices "
                  f"{list(map(int, excluded))}", RuntimeWarning, stacklevel=3)


def _cached_pes(name, atomic_numbers, positions, params, cache_dir, **scf):
  """``positions`` is a function, so that a cached set skips sampling (a Hessian)."""
  data = cached(name, {**params, **scf}, lambda: _compute(atomic_numbers, positions(), **scf),
                cache_dir)
  warn_excluded(data["excluded"], params["n"], scf["scf_max_iterations"])  # cached ones too
  return (data["positions"], data["energies"], data["forces"]), data["excluded"]


def water_pes(n: int, *, sampling: str = "random", sigma: float = 0.1,
              temperature: float = 1000.0, seed: int = 0, method: str = "hf",
              basis: str = "sto-3g", scf_max_iterations: int = 100, cache_dir=DEFAULT):
  """``((positions, energies, forces), excluded)`` of ``n`` water geometries
  (atoms O, H, H) around the experimental geometry, cached in ``cache_dir``.

  ``sampling="random"``: Gaussian Cartesian displacements of ``sigma`` Bohr.
  ``sampling="normal_modes"``: the classical harmonic ensemble at
  ``temperature`` K from the Hessian of ``method``/``basis`` at the reference
  (``opifex_fit.datasets.normal_modes``).
  """
  scf = {"method": method, "basis": basis, "scf_max_iterations": scf_max_iterations}
  if sampling == "random":
    water_displacements(n, sigma=sigma, seed=seed)  # checks the arguments now

    def positions():
      return water_displacements(n, sigma=sigma, seed=seed)
    params = {"n": n, "sigma": sigma, "seed": seed}
  elif sampling == "normal_modes":
    def positions():
      reference = water_equilibrium()
      return normal_mode_displacements(WATER_ATOMS, reference, hessian(
          WATER_ATOMS, reference, **scf), n, temperature=temperature, seed=seed)
    params = {"n": n, "T": temperature, "seed": seed, "sampling": "nm"}
  else:
    raise ValueError(f"sampling must be 'random' or 'normal_modes'; got {sampling!r}")
  return _cached_pes("water_pes", WATER_ATOMS, positions, params, cache_dir, **scf)


def h2_pes(n: int, *, r_min: float = 1.0, r_max: float = 3.0, method: str = "hf",
           basis: str = "sto-3g", scf_max_iterations: int = 100, cache_dir=DEFAULT):
  """``((positions, energies, forces), excluded)`` of H2 at ``n`` bond lengths
  over ``[r_min, r_max]`` Bohr, cached in ``cache_dir``."""
  h2_curve(n, r_min=r_min, r_max=r_max)  # checks the arguments now
  return _cached_pes("h2_pes", H2_ATOMS, lambda: h2_curve(n, r_min=r_min, r_max=r_max),
                     {"n": n, "rmin": r_min, "rmax": r_max}, cache_dir, method=method,
                     basis=basis, scf_max_iterations=scf_max_iterations)
