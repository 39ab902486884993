"""save_weights / load_weights: round trips, refusals, and plain-Orbax reading."""
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit.persistence.saving import load_weights, save_weights
from support import make_learner, sine_data


def test_learner_weights_round_trip_into_a_fresh_learner(tmp_path):
  trained = make_learner()
  trained.fit(sine_data(), steps=50, verbose=0)
  path = save_weights(trained, tmp_path / "w")
  fresh = load_weights(make_learner(seed=1), path)
  x = sine_data()[0]
  np.testing.assert_array_equal(fresh.predict(x), trained.predict(x))
  fresh.fit(sine_data(), steps=10, verbose=0)  # the loaded state trains on (not donated away)
  # Plain Orbax reads the layout: a pure nested dict.
  tree = ocp.StandardCheckpointer().restore(path)
  np.testing.assert_array_equal(tree["layers"]["0"]["kernel"],
                                jax.device_get(trained.state.params["layers"][0]["kernel"][...]))


def test_module_round_trip_and_refusals(tmp_path):
  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
  path = save_weights(model, tmp_path / "w")
  other = load_weights(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(1)), path)
  np.testing.assert_array_equal(other.layers[0].kernel[...], model.layers[0].kernel[...])
  with pytest.raises(ValueError, match=r"another architecture:\n  layers/0/bias: float32\[8\]"
                                       r" in the checkpoint, float32\[9\] now"):
    load_weights(of.models.MLP(2, [9, 1], rngs=nnx.Rngs(0)), path)
  with pytest.raises(ValueError, match="already exists"):
    save_weights(model, path)
  save_weights(model, path, overwrite=True)
  with pytest.raises(TypeError, match="nnx.Module or an opifex_fit Learner"):
    save_weights("model", tmp_path / "x")
