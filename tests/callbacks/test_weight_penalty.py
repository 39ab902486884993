"""cb.WeightPenalty: penalty values and SGD updates computed by hand on a tiny model."""
import jax
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.callbacks.tensorboard import named_leaves

LR = 0.1


@pytest.fixture
def data():
  x = np.random.default_rng(0).uniform(-1, 1, (32, 2)).astype(np.float32)
  return x, np.sin(x[:, :1] + 2 * x[:, 1:])


def tiny(lr=LR):
  model = of.models.MLP(2, [3, 1], rngs=nnx.Rngs(0))   # kernels (2, 3) and (3, 1)
  return of.Learner(model, of.Supervised("mse"), optax.sgd(lr))


def params(learner):
  return {k: np.asarray(v, np.float64) for k, v in named_leaves(
      jax.device_get(learner.state.params)).items()}


def test_terms_are_the_penalties_by_hand_and_logged(data):
  learner = tiny(lr=0.0)   # the weights stay put: every logged value is of w0
  w0 = params(learner)
  h = learner.fit(data, steps=2, callbacks=[cb.WeightPenalty(l1=0.5, l2=0.25)], verbose=0)
  np.testing.assert_allclose(h["l2_loss"][-1], sum((w ** 2).sum() for w in w0.values()), rtol=1e-6)
  np.testing.assert_allclose(h["l1_loss"][-1], sum(np.abs(w).sum() for w in w0.values()), rtol=1e-6)
  assert "spectral_loss" not in h   # a zero coefficient adds no term
  ev = learner.evaluate(data)
  np.testing.assert_allclose(ev["loss"], ev["data_loss"] + 0.5 * ev["l1_loss"]
                             + 0.25 * ev["l2_loss"], rtol=1e-6)
  assert dict(learner.loss_weights) == {"data": 1.0, "l1": 0.5, "l2": 0.25}


def test_one_sgd_step_is_the_gradient_of_the_weighted_penalty(data):
  # Data loss weighted 0: the update is the penalty's alone, -lr * c * d(penalty)/dw.
  learner = tiny()
  learner.loss_weights = {"data": 0.0}
  w0 = params(learner)
  learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l1=0.3, l2=0.2)], verbose=0)
  w1 = params(learner)
  for k, w in w0.items():
    np.testing.assert_allclose(w1[k], w - LR * (0.2 * 2 * w + 0.3 * np.sign(w)), rtol=1e-6,
                               atol=1e-7, err_msg=k)
  # The weight is settable between fits, without recompiling.
  learner.loss_weights = {"l2": 1.0, "l1": 0.0}
  learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l1=0.3, l2=0.2)], verbose=0)
  w2 = params(learner)
  for k, w in w1.items():
    np.testing.assert_allclose(w2[k], w * (1 - 2 * LR), rtol=1e-6, atol=1e-7, err_msg=k)
  assert learner.trace_counts["chunk"] == 1


def test_with_the_data_loss_the_penalty_adds_its_gradient(data):
  base, reg = tiny(), tiny()
  w0 = params(base)
  base.fit(data, steps=1, verbose=0)
  reg.fit(data, steps=1, callbacks=[cb.WeightPenalty(l2=0.5)], verbose=0)
  for k, w in w0.items():
    np.testing.assert_allclose(params(reg)[k] - params(base)[k], -LR * 0.5 * 2 * w,
                               rtol=1e-5, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("paths", ["kernel", ["layers/0/kernel", "layers/1/kernel"],
                                   lambda p: p.endswith("kernel")])
def test_paths_select_what_is_penalized(data, paths):
  learner = tiny()
  learner.loss_weights = {"data": 0.0}
  w0 = params(learner)
  h = learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l2=0.5, paths=paths)], verbose=0)
  w1 = params(learner)
  kernels = [k for k in w0 if k.endswith("kernel")]
  np.testing.assert_allclose(h["l2_loss"][-1], sum((w0[k] ** 2).sum() for k in kernels), rtol=1e-6)
  for k in w0:
    expected = w0[k] * (1 - LR) if k in kernels else w0[k]   # biases untouched, exactly
    np.testing.assert_allclose(w1[k], expected, rtol=1e-6, err_msg=k)


def test_spectral_is_the_sum_of_largest_singular_values(data):
  learner = tiny()
  learner.loss_weights = {"data": 0.0}
  w0 = params(learner)
  h = learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(spectral=0.5, paths="kernel",
                                                             power_iterations=100)], verbose=0)
  kernels = {k: w for k, w in w0.items() if k.endswith("kernel")}
  np.testing.assert_allclose(h["spectral_loss"][-1],
                             sum(np.linalg.norm(w, 2) for w in kernels.values()), rtol=1e-4)
  w1 = params(learner)
  for k, w in kernels.items():   # d sigma_max / dW = u1 v1^T
    u, _, vt = np.linalg.svd(w)
    np.testing.assert_allclose(w1[k], w - LR * 0.5 * np.outer(u[:, 0], vt[0]), atol=1e-5,
                               err_msg=k)


def test_bad_arguments_and_empty_selection_raise_before_compiling(data):
  with pytest.raises(ValueError, match="l2 must be a finite number >= 0; got -1"):
    cb.WeightPenalty(l2=-1)
  with pytest.raises(ValueError, match="paths"):
    cb.WeightPenalty(l2=1.0, paths=3)
  with pytest.raises(ValueError, match="power_iterations"):
    cb.WeightPenalty(spectral=1.0, power_iterations=0)
  learner = tiny()
  with pytest.raises(ValueError, match=r"selects no parameter.*layers/0/kernel"):
    learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l2=1.0, paths="nope")], verbose=0)
  with pytest.raises(ValueError, match="no real 2-D kernel"):
    learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(spectral=1.0, paths="bias")],
                verbose=0)
  assert "chunk" not in learner.trace_counts


def test_a_different_penalty_on_the_same_learner_is_refused(data):
  learner = tiny()
  learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l2=1.0, paths="kernel")], verbose=0)
  with pytest.raises(ValueError, match="already has a loss term 'l2'"):
    learner.fit(data, steps=1, callbacks=[cb.WeightPenalty(l2=1.0)], verbose=0)


def test_positional_order_of_design_section_1():
  reg = cb.WeightPenalty(0.1, 0.2, 0.3, "kernel")
  assert reg.coefficients == {"l1": 0.1, "l2": 0.2, "spectral": 0.3} and reg.paths == "kernel"


def test_the_carried_power_iteration_converges_across_steps():
  import optax
  from flax import nnx

  import opifex_fit as of
  from opifex_fit import callbacks as cb

  x = np.linspace(-1, 1, 32)[:, None].astype(np.float32)
  model = of.models.MLP(1, [24, 24, 1], rngs=nnx.Rngs(3))
  exact = sum(float(np.linalg.svd(np.asarray(w), compute_uv=False)[0])
              for p, w in cb.WeightPenalty(paths="kernel").selected(model).items() if w.ndim == 2)
  learner = of.Learner(model, of.Supervised(), optax.sgd(0.0))  # the weights stay put
  reg = cb.WeightPenalty(spectral=1.0, paths="kernel", power_iterations=1, steps_per_update=1)
  history = learner.fit((x, x), steps=200, verbose=0, callbacks=[reg], steps_per_execution=100)
  fresh = learner.evaluate((x, x))["spectral_loss"]  # one power step from the fixed start
  assert history["spectral_loss"][-1] == pytest.approx(exact, rel=1e-4)  # 100..200 steps carried
  assert abs(fresh - exact) > 10 * abs(history["spectral_loss"][-1] - exact)
  assert sorted(learner.hook_state("spectral_power_iteration")) == [
      f"layers/{i}/kernel" for i in range(3)]  # one carried vector per kernel
