"""EnergyForces: hand-computed loss and metrics, force autodiff, shape errors."""
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.problems.energy_forces import BOHR_TO_ANGSTROM, HARTREE_TO_KCAL_MOL


class Harmonic(nnx.Module):
  """E = k/2 * sum |R|^2: forces are -k R, by hand."""
  atomic_numbers = (1, 1)

  def __init__(self, k=2.0):
    self.k = nnx.Param(jnp.asarray(k, jnp.float32))

  def __call__(self, r):
    return 0.5 * self.k[...] * jnp.sum(r ** 2, axis=(-1, -2))


def harmonic_data(n=4, seed=0):
  r = np.random.default_rng(seed).normal(size=(n, 2, 3)).astype(np.float32)
  return r, 1.5 * np.sum(r ** 2, axis=(1, 2)), -3.0 * r  # k = 3


def test_loss_and_metrics_by_hand():
  r, e, f = harmonic_data()
  learner = of.Learner(Harmonic(2.0), of.EnergyForces(w_energy=2.0, w_forces=0.5))
  out = learner.evaluate((r, e, f))
  pred_e, pred_f = np.sum(r ** 2, axis=(1, 2)), -2.0 * r
  energy_mse, force_mse = np.mean((pred_e - e) ** 2), np.mean((pred_f - f) ** 2)
  np.testing.assert_allclose(out["energy_loss"], energy_mse, rtol=1e-5)
  np.testing.assert_allclose(out["forces_loss"], force_mse, rtol=1e-5)
  np.testing.assert_allclose(out["loss"], 2.0 * energy_mse + 0.5 * force_mse, rtol=1e-5)
  energy_mae, force_mae = np.mean(np.abs(pred_e - e)), np.mean(np.abs(pred_f - f))
  np.testing.assert_allclose(out["energy_mae"], energy_mae, rtol=1e-5)
  np.testing.assert_allclose(out["force_mae"], force_mae, rtol=1e-5)
  np.testing.assert_allclose(out["energy_mae_kcal"], energy_mae * 627.509474, rtol=1e-5)
  np.testing.assert_allclose(out["force_mae_kcal"],
                             force_mae * HARTREE_TO_KCAL_MOL / BOHR_TO_ANGSTROM, rtol=1e-5)


def test_forces_alone_train_the_curvature_and_validation_logs_the_metrics():
  r, e, f = harmonic_data(32)
  learner = of.Learner(Harmonic(1.0), of.EnergyForces(w_energy=0.0, w_forces=1.0),
                       optax.adam(5e-2))
  history = learner.fit((r, e, f), steps=200, validation_data=harmonic_data(8, seed=1),
                        validation_every=50, verbose=0)
  np.testing.assert_allclose(float(learner.model.k[...]), 3.0, atol=1e-2)
  for name in ("val_energy_mae", "val_force_mae", "val_energy_mae_kcal", "val_force_mae_kcal",
               "energy_loss", "forces_loss"):
    assert name in history
  assert history["val_force_mae"][-1] < 1e-2 < history["val_force_mae"][0]
  assert learner.trace_counts.get("chunk", 1) == 1


def test_val_metrics_are_monitorable():
  r, e, f = harmonic_data(16)
  learner = of.Learner(Harmonic(1.0), of.EnergyForces(), optax.adam(5e-2))
  learner.fit((r, e, f), steps=20, validation_data=(r, e, f), validation_every=10, verbose=0,
              callbacks=[cb.EarlyStopping(monitor="val_force_mae_kcal", patience=5)])
  with pytest.raises(ValueError, match="val_energy_mae.*need validation_data"):
    learner.fit((r, e, f), steps=10, verbose=0, callbacks=[cb.ChemicalAccuracy()])


@pytest.mark.parametrize("data, message", [
    ("positions", r"data must be a triple \(positions \(N, atoms, 3\), energies \(N,\), forces"),
    ((np.zeros((4, 3, 3)), np.zeros(4), np.zeros((4, 3, 3))),
     r"data\[0\] \(positions\) must have shape \(N, 2, 3\) for the atoms \[1, 1\]; got \(4, 3, 3\)"),
    ((np.zeros((4, 2, 3)), np.zeros((4, 1)), np.zeros((4, 2, 3))),
     r"data\[1\] \(energies\) must have shape \(4,\), one per geometry; got \(4, 1\)"),
    ((np.zeros((4, 2, 3)), np.zeros(4), np.zeros((4, 3, 2))),
     r"data\[2\] \(forces\) must have the positions' shape \(4, 2, 3\); got \(4, 3, 2\)"),
    ((np.zeros((4, 2, 3)), np.full(4, np.nan), np.zeros((4, 2, 3))),
     r"data\[1\] \(energies\) holds 4 non-finite"),
])
def test_shape_errors_name_the_array_before_compiling(data, message):
  learner = of.Learner(Harmonic(), of.EnergyForces())
  with pytest.raises((ValueError, TypeError), match=message):
    learner.fit(data, steps=1, verbose=0)
  assert learner.trace_counts.get("chunk", 0) == 0


def test_atom_types_must_match_the_model():
  model = of.models.InvariantPES([8, 1, 1], [8], rngs=nnx.Rngs(0))
  learner = of.Learner(model, of.EnergyForces(atomic_numbers=[1, 8, 1]))
  data = (np.ones((2, 3, 3)) * np.arange(3)[:, None], np.zeros(2), np.zeros((2, 3, 3)))
  with pytest.raises(ValueError, match=r"EnergyForces\(atomic_numbers=\[1, 8, 1\]\) does not "
                     r"match the model's atomic_numbers \[8, 1, 1\]"):
    learner.fit(data, steps=1, verbose=0)
  shape_error = r"must have shape \(N, 3, 3\) for the atoms \[8, 1, 1\]; got \(2, 2, 3\)"
  with pytest.raises(ValueError, match=shape_error):
    of.Learner(model, of.EnergyForces()).fit((np.ones((2, 2, 3)), np.zeros(2),
                                              np.zeros((2, 2, 3))), steps=1, verbose=0)


def test_constructor_errors():
  with pytest.raises(ValueError, match="w_forces must be a finite non-negative number; got -1"):
    of.EnergyForces(w_forces=-1)
  with pytest.raises(ValueError, match="atomic_numbers must be a list of positive ints"):
    of.EnergyForces(atomic_numbers=["O", "H"])


def test_minibatches_and_predict_with_the_invariant_model():
  from opifex_fit.datasets import water_displacements
  r = water_displacements(48, sigma=0.1, seed=0).astype(np.float32)
  d = r[:, 1:] - r[:, :1]
  e = np.sum(np.linalg.norm(d, axis=-1) ** 2, axis=1)  # a smooth invariant toy energy
  grad = np.zeros_like(r)
  grad[:, 1:] = 2 * d
  grad[:, 0] = -2 * d.sum(1)
  model = of.models.InvariantPES([8, 1, 1], [16], reference=(r, e), rngs=nnx.Rngs(0))
  learner = of.Learner(model, of.EnergyForces(), optax.adam(3e-3))
  before = learner.evaluate((r, e, -grad))
  learner.fit((r, e, -grad), epochs=30, batch_size=16, verbose=0)
  after = learner.evaluate((r, e, -grad))
  assert after["force_mae"] < 0.5 * before["force_mae"]
  assert learner.trace_counts["chunk"] == 1
  np.testing.assert_allclose(learner.predict(r, batch_size=20), learner.predict(r), rtol=1e-6)
  assert learner.predict(r).shape == (48,)
