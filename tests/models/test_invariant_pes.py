"""InvariantPES: invariance to rotations, translations, permutations; errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from scipy.spatial.transform import Rotation

import opifex_fit as of
from opifex_fit.datasets import water_displacements
from opifex_fit.problems.energy_forces import energy_and_forces


def methanol_like(n, seed=0):
  """6 atoms C, O, H, H, H, H: several identical-atom groups, random geometries."""
  rng = np.random.default_rng(seed)
  base = rng.normal(0, 1.5, (6, 3))
  return base[None] + rng.normal(0, 0.2, (n, 6, 3))


@pytest.fixture(scope="module")
def model():
  z = [6, 8, 1, 1, 1, 1]
  r = methanol_like(32)
  e = np.random.default_rng(1).normal(size=32)
  return of.models.InvariantPES(z, [16, 16], reference=(r, e), rngs=nnx.Rngs(0))


def test_invariant_to_rotations_reflections_and_translations(model):
  r = methanol_like(8, seed=2)
  e = np.asarray(model(r))
  for seed in range(3):
    rot = Rotation.random(random_state=seed).as_matrix()
    if seed == 2:
      rot = rot @ np.diag([1.0, 1.0, -1.0])  # a reflection too
    moved = r @ rot.T + np.random.default_rng(seed).normal(0, 3, (1, 1, 3))
    np.testing.assert_allclose(model(moved), e, rtol=1e-5, atol=1e-5)


def test_invariant_to_permutations_of_identical_atoms_only(model):
  r = methanol_like(8, seed=3)
  e = np.asarray(model(r))
  for perm in ([0, 1, 3, 2, 4, 5], [0, 1, 5, 4, 2, 3], [0, 1, 4, 5, 3, 2]):  # H's swapped
    np.testing.assert_allclose(model(r[:, perm]), e, rtol=1e-5, atol=1e-5)
  swapped = np.asarray(model(r[:, [1, 0, 2, 3, 4, 5]]))  # C <-> O is a different molecule
  assert np.max(np.abs(swapped - e)) > 1e-3


def test_forces_rotate_with_the_molecule_and_permute_with_the_atoms(model):
  r = jnp.asarray(methanol_like(4, seed=4), jnp.float32)
  _, f = energy_and_forces(model, r)
  rot = jnp.asarray(Rotation.random(random_state=7).as_matrix(), jnp.float32)
  _, f_rot = energy_and_forces(model, r @ rot.T)
  np.testing.assert_allclose(f_rot, f @ rot.T, atol=1e-4)
  perm = [0, 1, 3, 2, 5, 4]
  _, f_perm = energy_and_forces(model, r[:, perm])
  np.testing.assert_allclose(f_perm, f[:, perm], atol=1e-4)
  np.testing.assert_allclose(jnp.sum(f, axis=1), 0.0, atol=1e-4)  # translation invariance


def test_forces_are_smooth_where_identical_distances_cross():
  # At water's symmetric geometry the two O-H distances are equal; sorting them
  # would give a force kink there, power sums do not.
  r = water_displacements(1)[0]
  model = of.models.InvariantPES([8, 1, 1], [16], rngs=nnx.Rngs(0))
  stretch = np.zeros((3, 3))
  stretch[1, 0], stretch[2] = 1.0, -r[2] / np.linalg.norm(r[2])  # one bond in, one out
  steps = np.array([-1e-3, 0.0, 1e-3])
  _, f = energy_and_forces(model, jnp.asarray(r[None] + steps[:, None, None] * stretch))
  np.testing.assert_allclose(f[1], (f[0] + f[2]) / 2, atol=1e-4 * float(jnp.max(jnp.abs(f))))


def test_reference_standardizes_energies_and_descriptors():
  r = water_displacements(64, seed=5)
  e = -75.0 + 0.01 * np.random.default_rng(0).normal(size=64)
  model = of.models.InvariantPES([8, 1, 1], [8], reference=(r, e), rngs=nnx.Rngs(0))
  d = np.asarray(model.descriptor(r))
  assert d.shape == (64, 3)  # O-H: sum and sum of squares; H-H: the distance
  np.testing.assert_allclose(d.mean(0), 0.0, atol=1e-4)
  np.testing.assert_allclose(d.std(0), 1.0, atol=1e-4)
  np.testing.assert_allclose(float(model.energy_shift[...]), e.mean(), rtol=1e-6)


def test_wrong_atom_count_is_a_clear_error():
  model = of.models.InvariantPES([8, 1, 1], [8], rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"positions must have shape \(\.\.\., 3, 3\) for the "
                     r"model's 3 atoms \[8, 1, 1\]; got shape \(5, 4, 3\)"):
    model(np.zeros((5, 4, 3)))
  with pytest.raises(ValueError, match="atomic_numbers must be a list of at least two"):
    of.models.InvariantPES([8], [8], rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="max_degree must be a positive int; got 0"):
    of.models.InvariantPES([1, 1], [8], max_degree=0, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"reference must be"):
    of.models.InvariantPES([1, 1], [8], reference=(np.ones((3, 2, 3)), np.ones(4)),
                           rngs=nnx.Rngs(0))


def test_jit_of_the_split_model_matches_eager():
  model = of.models.InvariantPES([1, 1], [8], rngs=nnx.Rngs(0))
  graphdef, state = nnx.split(model)
  r = np.array([[[0.0, 0, 0], [1.4, 0, 0]]])
  out = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))(state, r)
  np.testing.assert_allclose(out, model(r), rtol=1e-6)
