"""Callback state as one dataclass (``status``): state_dict and load_state_dict derive from it."""
import dataclasses
import json

import optax
import pytest

from opifex_fit import callbacks as cb
from opifex_fit.callbacks.base import load_status

STATEFUL = [
    lambda: cb.EarlyStopping("loss", patience=3),
    lambda: cb.ReduceLROnPlateau("loss"),
    lambda: cb.LossExplosionRecovery(),
    lambda: cb.SwitchOptimizer(10, optax.sgd(1e-2)),
    lambda: cb.GradNorm(every=10),
    lambda: cb.ChemicalAccuracy(),
]


@pytest.mark.parametrize("make", STATEFUL)
def test_state_dict_is_the_status_and_round_trips_through_json(make):
  callback = make()
  assert dataclasses.is_dataclass(callback.status)
  assert callback.state_dict() == dataclasses.asdict(callback.status)
  other = make()
  other.load_state_dict(json.loads(json.dumps(callback.state_dict())))
  assert other.status == callback.status and other.status is not callback.status


def test_fields_are_attributes_and_survive_a_round_trip():
  plateau = cb.ReduceLROnPlateau("loss")
  plateau.wait, plateau.best = 2, 0.5
  assert plateau.state_dict() == {"wait": 2, "cooldown_counter": 0, "best": 0.5}
  again = cb.ReduceLROnPlateau("loss")
  again.load_state_dict(plateau.state_dict())
  assert (again.wait, again.best) == (2, 0.5)


def test_unknown_keys_are_refused_and_missing_ones_take_defaults():
  stopper = cb.EarlyStopping("loss")
  with pytest.raises(ValueError, match="unknown key.*'typo'"):
    stopper.load_state_dict({"typo": 1})
  stopper.load_state_dict({"wait": 4})
  assert stopper.wait == 4 and stopper.checks == 0
  with pytest.raises(TypeError, match="expects a dict"):
    load_status(type(stopper.status), [1, 2])


def test_a_callback_without_status_has_an_empty_state():
  assert cb.TerminateOnNaN().state_dict() == {}
  cb.TerminateOnNaN().load_state_dict({})
