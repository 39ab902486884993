"""Supervised(metrics=...): evaluation-only metrics in evaluate and validation logs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of
from opifex_fit.problems.supervised import relative_l2
from support import make_learner, sine_data


def test_metrics_are_reported_never_trained_on():
  x, y = sine_data(64)
  plain, measured = make_learner(), make_learner()
  measured.problem = of.Supervised("mse", metrics=("relative_l2", "mae"))
  plain.fit((x, y), steps=30, verbose=0)
  history = measured.fit((x, y), steps=30, verbose=0, validation_data=(x, y),
                         validation_every=10, callbacks=[
                             of.callbacks.EarlyStopping("val_relative_l2", patience=5, every=10)])
  for a, b in zip(jax.tree.leaves(plain.state.params), jax.tree.leaves(measured.state.params)):
    np.testing.assert_array_equal(a, b)  # training unchanged
  got = measured.evaluate((x, y))
  pred = np.asarray(measured.predict(x))
  # Per-sample relative L2 of one value per sample is |pred - y| / |y|, averaged.
  np.testing.assert_allclose(got["relative_l2"], np.mean(np.abs(pred - y) / np.abs(y)), rtol=1e-4)
  np.testing.assert_allclose(got["mae"], np.mean(np.abs(pred - y)), rtol=1e-5)
  assert history["val_relative_l2"][-1] == pytest.approx(got["relative_l2"], rel=1e-6)
  np.testing.assert_allclose(relative_l2(jnp.ones((2, 3)), 2 * jnp.ones((2, 3))), 0.5, rtol=1e-6)


def test_bad_metrics_are_refused():
  with pytest.raises(ValueError, match="unknown \\['r2'\\]"):
    of.Supervised(metrics=("r2",))
  with pytest.raises(TypeError, match="metrics must map names to callables"):
    of.Supervised(metrics={"a": 3})
