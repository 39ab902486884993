import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.problems.reference import grid, relative_l2


def test_relative_l2_and_grid_by_hand():
  assert relative_l2([3.0, 4.0], [0.0, 5.0]) == pytest.approx(np.sqrt(10) / 5)
  g = grid({"x": (0, 1), "t": (0, 2)}, (2, 3))
  np.testing.assert_array_equal(g, [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
  with pytest.raises(ValueError, match="identically zero"):
    relative_l2([1.0], [0.0])
  with pytest.raises(ValueError, match="same number of entries"):
    relative_l2([1.0, 2.0], [1.0])


def test_logged_at_cadence_and_equal_to_hand_computation():
  x = np.linspace(-1, 1, 64)[:, None]
  learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"),
                       optax.adam(1e-2))
  ref = of.ReferenceSolution.from_function(lambda p: np.sin(3 * p), x, every=20)
  assert cb.ReferenceSolution is of.ReferenceSolution
  history = learner.fit((x, np.sin(3 * x)), steps=40, callbacks=[ref], verbose=0,
                        steps_per_execution=10)
  logged = [v for v, s in zip(history["rel_l2"], history.steps) if s % 20 == 0]
  assert len(logged) == 2 and not any(np.isnan(logged))
  by_hand = relative_l2(np.asarray(learner.predict(x)), np.sin(3 * x))
  assert logged[-1] == pytest.approx(by_hand, rel=1e-5)
  assert ref.error(learner) == pytest.approx(by_hand, rel=1e-5)
  assert logged[-1] < logged[0]


def test_shape_mismatch_refused_at_fit_begin():
  x = np.linspace(-1, 1, 8)[:, None]
  learner = of.Learner(of.models.MLP(1, [4, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"))
  ref = of.ReferenceSolution(x, np.ones(5))
  with pytest.raises(ValueError, match="values has shape"):
    learner.fit((x, x), steps=1, callbacks=[ref], verbose=0)
  with pytest.raises(ValueError, match="not all zero"):
    of.ReferenceSolution(x, np.zeros(8))
