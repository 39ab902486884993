"""PySCF energies and forces: finite differences, exclusion, cache, samplers."""
import builtins
import warnings

import numpy as np
import pytest

from opifex_fit import datasets as ds
from opifex_fit.datasets import pyscf_pes

pytest.importorskip("pyscf")


def fd_force(atomic_numbers, positions, atom, axis, h=1e-4):
  """-(E(R + h e) - E(R - h e)) / 2h from PySCF energies alone."""
  energies = []
  for sign in (1.0, -1.0):
    shifted = positions.copy()
    shifted[atom, axis] += sign * h
    energies.append(ds.single_point(atomic_numbers, shifted)[0])
  return -(energies[0] - energies[1]) / (2 * h)


def test_h2_forces_match_central_differences_of_pyscf_energies():
  (pos, e, f), excluded = ds.h2_pes(3, r_min=1.0, r_max=2.6, cache_dir=None)
  assert pos.shape == (3, 2, 3) and e.shape == (3,) and f.shape == (3, 2, 3)
  assert excluded.size == 0
  for k in range(3):
    np.testing.assert_allclose(f[k, 1, 0], fd_force((1, 1), pos[k], 1, 0), atol=2e-6)
  np.testing.assert_allclose(f[:, 0], -f[:, 1], atol=1e-8)  # Newton's third law
  assert f[0, 1, 0] > 0 > f[2, 1, 0]  # pushed apart at 1.0 Bohr, pulled back at 2.6
  assert e[1] < e[0] and e[1] < e[2]  # the minimum (1.35 Bohr for RHF/STO-3G) is inside


def test_water_forces_match_central_differences():
  (pos, _, f), _ = ds.water_pes(2, sigma=0.1, seed=3, cache_dir=None)
  r = pos[1]
  for atom, axis in ((0, 0), (1, 1), (2, 0)):
    np.testing.assert_allclose(f[1, atom, axis], fd_force((8, 1, 1), r, atom, axis), atol=5e-6)
  np.testing.assert_allclose(f[1].sum(0), 0.0, atol=1e-6)  # no net force on a free molecule


def test_unconverged_geometries_are_excluded_and_named(tmp_path):
  with pytest.warns(RuntimeWarning, match=r"3 of 3 geometries did not converge within "
                    r"scf_max_iterations=2 .*indices \[0, 1, 2\]"):
    (pos, e, _), excluded = ds.water_pes(3, scf_max_iterations=2, cache_dir=tmp_path)
  assert excluded.tolist() == [0, 1, 2] and pos.shape == (0, 3, 3) and e.shape == (0,)
  with pytest.warns(RuntimeWarning, match="indices"):  # loaded from the cache: still reported
    ds.water_pes(3, scf_max_iterations=2, cache_dir=tmp_path)


def test_cache_round_trip_does_not_recompute(tmp_path, monkeypatch):
  (pos, e, f), _ = ds.h2_pes(2, cache_dir=tmp_path)
  assert len(list(tmp_path.glob("h2_pes-*.npz"))) == 1
  assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing left over
  monkeypatch.setattr(pyscf_pes, "single_point", lambda *a, **k: pytest.fail("recomputed"))
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    (pos2, e2, f2), excluded = ds.h2_pes(2, cache_dir=tmp_path)
  np.testing.assert_array_equal(pos, pos2)
  np.testing.assert_array_equal(e, e2)
  np.testing.assert_array_equal(f, f2)
  assert excluded.size == 0


def test_missing_pyscf_names_the_extra(monkeypatch):
  real_import = builtins.__import__

  def no_pyscf(name, *args, **kwargs):
    if name == "pyscf" or name.startswith("pyscf."):
      raise ImportError("No module named 'pyscf'")
    return real_import(name, *args, **kwargs)

  monkeypatch.setattr(builtins, "__import__", no_pyscf)
  with pytest.raises(ImportError, match=r"pip install opifex-fit\[chem\]"):
    ds.compute_pes((1, 1), ds.h2_curve(1))


def test_argument_errors_name_the_argument():
  with pytest.raises(ValueError, match=r"positions must have shape \(N, 2, 3\)"):
    ds.compute_pes((1, 1), np.zeros((4, 3, 3)))
  with pytest.raises(ValueError, match="scf_max_iterations must be a positive int; got 0"):
    ds.compute_pes((1, 1), ds.h2_curve(1), scf_max_iterations=0)
  with pytest.raises(ValueError, match="sigma must be"):
    ds.water_displacements(3, sigma=-1.0)
  with pytest.raises(ValueError, match="r_max must be >= r_min"):
    ds.h2_curve(3, r_min=2.0, r_max=1.0)


def test_samplers():
  w = ds.water_displacements(50, sigma=0.05, seed=1)
  np.testing.assert_array_equal(w[0], ds.water_equilibrium())
  assert w.shape == (50, 3, 3) and abs(np.std(w[1:] - w[0]) - 0.05) < 0.01
  np.testing.assert_allclose(np.linalg.norm(ds.water_equilibrium()[1]), 0.9572 / 0.529177210903)
  np.testing.assert_array_equal(ds.water_displacements(5, seed=2), ds.water_displacements(5, seed=2))


def test_normal_modes_of_a_spring_give_the_equipartition_bond_spread():
  k, temperature = 0.37, 800.0  # Hartree/Bohr^2, K
  hessian = np.zeros((2, 3, 2, 3))
  hessian[0, 0, 0, 0] = hessian[1, 0, 1, 0] = k
  hessian[0, 0, 1, 0] = hessian[1, 0, 0, 0] = -k
  r0 = np.array([[0.0, 0, 0], [1.4, 0, 0]])
  omega, _ = ds.vibrational_modes((1, 1), r0, hessian)
  mu = 1.00782503 / 2 * 1822.888486
  np.testing.assert_allclose(omega, [np.sqrt(k / mu)], rtol=1e-8)
  r = ds.normal_mode_displacements((1, 1), r0, hessian, 20000, temperature=temperature)
  bond = r[:, 1, 0] - r[:, 0, 0]
  kT = temperature * 3.166811563e-6
  np.testing.assert_allclose(np.var(bond - 1.4), kT / k, rtol=0.05)  # <k dr^2 / 2> = kT / 2
  np.testing.assert_allclose(r[:, :, 1:], 0.0, atol=1e-12)  # only the bond moves
  np.testing.assert_allclose(r.mean(1)[:, 0], 0.7, atol=1e-12)  # centre of mass stays
  with pytest.raises(ValueError, match=r"no built-in mass for atomic numbers \[92\]"):
    ds.vibrational_modes((92, 1), r0, hessian)


def test_water_normal_mode_sampling_uses_the_pyscf_hessian(tmp_path):
  (pos, _, _), excluded = ds.water_pes(4, sampling="normal_modes", temperature=500.0,
                                       cache_dir=tmp_path)
  assert pos.shape == (4, 3, 3) and excluded.size == 0
  np.testing.assert_allclose(pos[0], ds.water_equilibrium())
  shift = pos[1:] - pos[0]
  assert 1e-3 < np.abs(shift).max() < 0.5  # thermal: small, nonzero
  masses = np.array([15.99491462, 1.00782503, 1.00782503])
  np.testing.assert_allclose(masses @ shift, 0.0, atol=1e-10)  # vibrations keep the centre of mass
  with pytest.raises(ValueError, match="sampling must be 'random' or 'normal_modes'"):
    ds.water_pes(2, sampling="md", cache_dir=None)
