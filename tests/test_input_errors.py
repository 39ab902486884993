"""Every bad input is refused by our code, naming the argument and the value,
before anything compiles."""

import numpy as np
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def refuses(learner, error, match, **kwargs):
  with pytest.raises(error, match=match):
    learner.fit(**{"data": sine_data(), "steps": 10, "verbose": 0, **kwargs})
  assert "chunk" not in learner.trace_counts  # nothing compiled


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": None}, "exactly one of steps= and epochs="),
    ({"epochs": 3}, "exactly one of steps= and epochs="),
    ({"steps": 0}, "steps must be a positive int.*; got 0"),
    ({"steps": -5}, "steps must be a positive int.*; got -5"),
    ({"steps": 2.5}, "steps must be a positive int.*; got 2.5"),
    ({"batch_size": 0}, "batch_size must be a positive int"),
    ({"batch_size": 1000}, "batch_size=1000 is larger than the 128 examples"),
    ({"validation_every": 5}, "validation_every=5 needs validation_data"),
    ({"validation_every": -1, "validation_data": sine_data(8)}, "validation_every must be a positive"),
    ({"steps_per_execution": 0}, "steps_per_execution must be a positive int"),
    ({"verbose": 3}, "verbose must be 0, 1 or 2; got 3"),
])
def test_bad_fit_arguments(kwargs, match):
  refuses(make_learner(), ValueError, match, **kwargs)


def test_bad_data():
  x, y = sine_data()
  learner = make_learner()
  refuses(learner, ValueError, r"output has shape \(128, 1\) but y has shape \(128,\).*y\[:, None\]",
          data=(x, y[:, 0]))
  refuses(learner, ValueError, "share one leading", data=(x, y[:100]))
  bad = x.copy()
  bad[3, 0] = np.nan
  refuses(learner, ValueError, r"data\[0\] \(x\) holds 1 non-finite", data=(bad, y))
  refuses(learner, ValueError, r"cannot be applied to x of shape \(128, 3\)",
          data=(np.ones((128, 3), np.float32), y))
  refuses(learner, TypeError, "must be a pair", data=x)
  refuses(learner, TypeError, "numeric array", data=(np.array(["a"] * 128), y))
  refuses(learner, ValueError, "validation_data: the model output", validation_data=(x, y[:, 0]))


def test_bad_callbacks_and_monitors():
  learner = make_learner()
  refuses(learner, TypeError, r"callbacks\[1\] must be an opifex_fit.callbacks.Callback",
          callbacks=[cb.HistoryRecorder(), print])
  refuses(learner, TypeError, "callbacks must be a list", callbacks=cb.HistoryRecorder())
  with pytest.raises(ValueError, match=r"monitor='val_loss'.*need validation_data.*available: \["):
    learner.fit(sine_data(), steps=10, verbose=0, callbacks=[cb.EarlyStopping()])
  with pytest.raises(ValueError, match=r"monitor='los'.*'data_loss', 'loss'"):
    learner.fit(sine_data(), steps=10, verbose=0, callbacks=[cb.EarlyStopping("los")])
  assert "chunk" not in learner.trace_counts


def test_bad_constructor_arguments():
  model = of.models.MLP(1, [4, 1], rngs=nnx.Rngs(0))
  with pytest.raises(TypeError, match="model must be a flax.nnx.Module; got function"):
    of.Learner(lambda x: x, of.Supervised())
  with pytest.raises(TypeError, match="problem must be an opifex_fit Problem"):
    of.Learner(model, "mse")
  with pytest.raises(TypeError, match="optimizer must be an optax.GradientTransformation"):
    of.Learner(model, of.Supervised(), optimizer=0.001)
  with pytest.raises(ValueError, match="loss must be one of .*'mse'.*got 'rmse'"):
    of.Supervised("rmse")
  with pytest.raises(TypeError, match="loss must be a string or a callable"):
    of.Supervised(3)
  with pytest.raises(ValueError, match="features must be a non-empty list of positive ints"):
    of.models.MLP(2, [4, 0], rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="activation must be one of"):
    of.models.MLP(2, [4], activation="tanhh", rngs=nnx.Rngs(0))


def test_bad_state_writes():
  learner = make_learner()
  with pytest.raises(ValueError, match="lr_scale must be a non-negative float; got -1"):
    learner.lr_scale = -1
  with pytest.raises(KeyError, match="no loss term 'pde'"):
    learner.loss_weights["pde"] = 1.0
  learner.fit(sine_data(), steps=5, verbose=0)
  with pytest.raises(ValueError, match=r"learner.data\[0\] must keep shape \(128, 1\)"):
    learner.data = sine_data(64)
  with pytest.raises(ValueError, match="patience must be a non-negative int"):
    cb.EarlyStopping(patience=-1)
  with pytest.raises(ValueError, match="mode must be one of"):
    cb.EarlyStopping(mode="up")
  with pytest.raises(ValueError, match="every must be a positive int"):
    cb.LambdaCallback(every=0)
