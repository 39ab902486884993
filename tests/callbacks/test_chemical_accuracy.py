"""cb.ChemicalAccuracy: stops at the target, logs the step, survives a resume."""
import json

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


class Harmonic(nnx.Module):
  atomic_numbers = (1, 1)

  def __init__(self):
    self.k = nnx.Param(jnp.asarray(1.0, jnp.float32))

  def __call__(self, r):
    return 0.5 * self.k[...] * jnp.sum(r ** 2, axis=(-1, -2))


def data(n=16, seed=0):
  r = np.random.default_rng(seed).normal(size=(n, 2, 3)).astype(np.float32)
  return r, 1.5 * np.sum(r ** 2, axis=(1, 2)), -3.0 * r


TARGET = 0.05


def fit(steps, callbacks, learner=None):
  learner = learner or of.Learner(Harmonic(), of.EnergyForces(), optax.adam(1e-2))
  learner.fit(data(), steps=steps, validation_data=data(8, seed=1), validation_every=10,
              verbose=0, callbacks=callbacks)
  return learner


def test_stops_at_the_first_validation_at_or_below_the_target():
  stopper = cb.ChemicalAccuracy(target=TARGET)
  learner = fit(1000, [stopper])
  h = learner.history
  assert stopper.reached_step == learner.step < 1000
  row = h.steps.index(learner.step)
  assert h["val_energy_mae"][row] <= TARGET < h["val_energy_mae"][row - 1]
  assert h["chemical_accuracy_step"][row] == learner.step
  assert np.isnan(h["chemical_accuracy_step"][row - 1])
  assert learner.logs["chemical_accuracy_step"] == learner.step
  assert stopper.status.checks == len(h.steps) and stopper.status.best <= TARGET


def test_stop_false_only_records():
  stopper = cb.ChemicalAccuracy(target=TARGET, stop=False)
  learner = fit(600, [stopper])
  assert learner.step == 600 and stopper.reached_step is not None and stopper.reached_step < 600


def test_resume_before_and_after_the_target(tmp_path):
  reference = cb.ChemicalAccuracy(target=TARGET)
  fit(1000, [reference, cb.Checkpoint(tmp_path / "ref", every=10, verbose=0)])
  reached = reference.reached_step
  # Interrupted before the target: the resumed run reaches it at the same step.
  fit(reached - 20, [cb.ChemicalAccuracy(target=TARGET),
                     cb.Checkpoint(tmp_path / "cut", every=10, verbose=0)])
  resumed = cb.ChemicalAccuracy(target=TARGET)
  learner = fit(1000, [resumed, cb.Checkpoint(tmp_path / "cut", every=10, verbose=0)])
  assert resumed.reached_step == reached == learner.step
  # Checked in on_step_end, before Checkpoint saves: no check is lost or redone.
  assert resumed.status.checks == reference.status.checks
  # Resumed after the target: it stops at its first check and keeps the step.
  again = cb.ChemicalAccuracy(target=TARGET)
  learner = fit(1000, [again, cb.Checkpoint(tmp_path / "ref", every=10, verbose=0)])
  assert again.reached_step == reached and learner.step == reached + 10
  # A stricter target is a new search.
  stricter = cb.ChemicalAccuracy(target=TARGET / 10)
  learner = fit(20, [stricter, cb.Checkpoint(tmp_path / "ref", every=10, verbose=0)])
  assert stricter.reached_step is None or stricter.reached_step > reached + 10


def test_state_dict_is_json_and_round_trips():
  a = cb.ChemicalAccuracy()
  a.load_state_dict({"target": a.target, "reached_step": 120, "best": 1e-3, "checks": 7})
  state = json.loads(json.dumps(a.state_dict()))
  b = cb.ChemicalAccuracy()
  b.load_state_dict(state)
  assert b.status == a.status and b.reached_step == 120


def test_defaults_and_errors():
  stopper = cb.ChemicalAccuracy()
  assert stopper.monitor == "val_energy_mae" and abs(stopper.target - 1.594e-3) < 1e-6
  with pytest.raises(ValueError, match="target must be a finite positive number"):
    cb.ChemicalAccuracy(target=0.0)
  with pytest.raises(TypeError, match="stop must be a bool"):
    cb.ChemicalAccuracy(stop="yes")
