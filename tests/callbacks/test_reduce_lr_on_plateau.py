"""cb.ReduceLROnPlateau: Keras semantics on lr_scale."""
import math
from types import SimpleNamespace

import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from conftest import make_learner, sine_data


def run_script(plateau, values, name="val_loss"):
  learner = SimpleNamespace(lr_scale=1.0, step=0, logs={})
  plateau.on_fit_begin(learner)
  scales = []
  for i, v in enumerate(values):
    learner.step, learner.logs = 10 * (i + 1), {name: v}
    if name.startswith("val_"):
      plateau.on_validation_end(learner)
    else:
      plateau.on_epoch_end(learner)
    scales.append(learner.lr_scale)
  return scales


def test_scripted_sequence_matches_hand_computation():
  plateau = cb.ReduceLROnPlateau("val_loss", factor=0.5, patience=2, cooldown=2,
                                 min_delta=0.01, min_lr_scale=0.2)
  values = [1.0, 0.995, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.5, 0.6, 0.6, math.nan,
            0.6, 0.6, 0.6]
  # By hand (w = wait, cd = cooldown counter after the check):
  #  1 1.0   best        w0           6 .98  cd2->1: uncounted       11 .6   w2: .25->max(.125,.2)
  #  2 .995  <.99? no    w1           7 .98  cd1->0, w1              12 nan  cd2->1: uncounted
  #  3 .98   best        w0           8 .98  w2: .5->.25, cd2        13 .6   cd1->0, w1
  #  4 .98               w1           9 .5   cd->1, best             14 .6   w2: .2 not > .2
  #  5 .98   w2: 1->.5, cd2          10 .6   cd->0, w1               15 .6   w3: still .2
  expected = [1, 1, 1, 1, .5, .5, .5, .25, .25, .25, .2, .2, .2, .2, .2]
  assert run_script(plateau, values) == expected
  assert plateau.wait == 3 and plateau.best == 0.5 and plateau.cooldown_counter == 0


def test_patience_zero_and_max_mode():
  assert run_script(cb.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=0),
                    [3.0, 2.0, 2.0, 1.0, 1.0], name="loss") == [1, 1, .5, .5, .25]
  plateau = cb.ReduceLROnPlateau("val_accuracy", factor=0.1, patience=1, min_delta=0)
  assert plateau.mode == "max"
  np.testing.assert_allclose(run_script(plateau, [0.5, 0.7, 0.6, 0.7], name="val_accuracy"),
                             [1, 1, .1, .01])


def test_state_dict_round_trip():
  a = cb.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, cooldown=2)
  run_script(a, [1.0, 2.0, 2.0])
  b = cb.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, cooldown=2)
  b.load_state_dict(a.state_dict())
  assert b.state_dict() == a.state_dict() == {"wait": 2, "cooldown_counter": 0, "best": 1.0}
  # One more non-improving check triggers in both, and only then.
  assert run_script(a, [3.0])[-1] == 1.0   # a fresh fit resets the counters (Keras)
  learner = SimpleNamespace(lr_scale=1.0, step=40, logs={"val_loss": 3.0})
  b.on_validation_end(learner)
  assert learner.lr_scale == 0.5


def test_real_fit_reduces_lr_scale_without_recompiling(data):
  learner = make_learner()
  # min_delta=10 makes every check after the first a non-improvement.
  plateau = cb.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=10.0, every=20)
  h = learner.fit(data, steps=100, callbacks=[plateau], verbose=0)
  assert h.steps == [20, 40, 60, 80, 100]
  # Logs are read before the callbacks act at a boundary.
  assert h.lr_scale == [1.0, 1.0, 0.5, 0.25, 0.125]
  assert learner.lr_scale == 0.0625
  assert learner.trace_counts["chunk"] == 1


def test_real_fit_on_val_loss_with_a_schedule_inside_the_optimizer(data):
  model = of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0))
  opt = optax.adam(optax.exponential_decay(3e-3, 50, 0.5))
  learner = of.Learner(model, of.Supervised(), opt)
  plateau = cb.ReduceLROnPlateau(factor=0.1, patience=1, min_delta=10.0, min_lr_scale=1e-3)
  h = learner.fit(data, steps=120, validation_data=sine_data(32, seed=1), validation_every=30,
                  callbacks=[plateau], verbose=0)
  # Checks at 30 (best), 60, 90, 120: 1 -> .1 -> .01 -> .001 (the floor).
  np.testing.assert_allclose(learner.lr_scale, 1e-3, rtol=1e-6)
  np.testing.assert_allclose([h.lr_scale[h.steps.index(s)] for s in (60, 90, 120)],
                             [1.0, 0.1, 0.01], rtol=1e-6)
  assert np.isfinite(h.loss).all()


def test_monitor_is_checked_by_the_learner(data):
  with pytest.raises(ValueError, match="val_los.*available"):
    make_learner().fit(data, steps=10, validation_data=sine_data(8, 1), verbose=0,
                       callbacks=[cb.ReduceLROnPlateau(monitor="val_los")])


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, "factor"), ({"factor": 0}, "factor"), ({"patience": -1}, "patience"),
    ({"cooldown": 1.5}, "cooldown"), ({"min_lr_scale": -1.0}, "min_lr_scale"),
    ({"mode": "up"}, "mode"), ({"every": 0}, "every")])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    cb.ReduceLROnPlateau(**kwargs)


def test_order():
  assert cb.ReduceLROnPlateau().order == 30
