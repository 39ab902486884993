"""LRAnnealing against hand computations (Wang, Teng, Perdikaris 2021; jaxpi)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import opifex_fit as of
from opifex_fit import callbacks as cb

from opifex_fit.engine.step_hooks import StepHook

from balancing_support import PQ, TwoTerms, frozen_learner, grads_by_hand, make_data

P, Q = 0.5, 2.0


def test_mean_mode_is_jaxpi_grad_norm_weighting_with_momentum():
  learner, data = frozen_learner(P, Q), make_data()
  learner.fit(data, steps=10, callbacks=[cb.LRAnnealing(every=5, momentum=0.9)], verbose=0)
  _, grads = grads_by_hand(P, Q, data)
  norms = np.linalg.norm(grads, axis=1)              # ||grad_theta L_i||
  target = norms.mean() / (norms + 1e-5 * norms.mean())
  w = np.ones(2)
  for _ in range(2):                                 # two updates, parameters frozen
    w = 0.9 * w + 0.1 * target
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w, rtol=1e-5)
  np.testing.assert_allclose([learner.logs["lra_grad_pde"], learner.logs["lra_grad_bc"]], norms, rtol=1e-5)
  np.testing.assert_allclose([learner.logs["lra_target_pde"], learner.logs["lra_target_bc"]], target,
                             rtol=1e-5)


class ScalePde(StepHook):
  """Multiplies the pde term by its state (a stand-in for causal weights)."""

  name = "scale_pde"

  def init(self, learner):
    return jnp.asarray(4.0, jnp.float32)

  def loss_terms(self, hs, model, batch, terms_fn):
    terms = terms_fn(model, batch)
    return dict(terms, pde=hs * terms["pde"]), hs


class ScalesPde(cb.Callback):
  def step_hook(self, learner):
    return ScalePde()


@pytest.mark.parametrize("as_trained", [True, False])
def test_gradients_are_those_of_the_terms_as_trained(as_trained):
  learner, data = frozen_learner(P, Q), make_data()
  lra = cb.LRAnnealing(every=5, momentum=0.0, as_trained=as_trained)
  learner.fit(data, steps=5, callbacks=[ScalesPde(), lra], verbose=0)
  _, grads = grads_by_hand(P, Q, data)
  norms = np.linalg.norm(grads, axis=1) * ([4.0, 1.0] if as_trained else 1.0)
  np.testing.assert_allclose([learner.logs["lra_grad_pde"], learner.logs["lra_grad_bc"]], norms,
                             rtol=1e-5)
  learner.set_hook_state("scale_pde", 8.0)  # a new hook state: same function, new value
  lra.on_step_end(learner)
  scale = 8.0 if as_trained else 1.0
  assert learner.logs["lra_grad_pde"] == pytest.approx(np.linalg.norm(grads[0]) * scale, rel=1e-5)
  assert learner.trace_counts["lr_annealing"] == 1


def test_at_start_updates_before_the_first_step():
  learner, data = frozen_learner(P, Q), make_data()
  learner.fit(data, steps=5, callbacks=[cb.LRAnnealing(every=5, momentum=0.5, at_start=True)],
              verbose=0)
  _, grads = grads_by_hand(P, Q, data)
  norms = np.linalg.norm(grads, axis=1)
  target = norms.mean() / (norms + 1e-5 * norms.mean())
  w = 0.5 * (0.5 * 1.0 + 0.5 * target) + 0.5 * target  # at steps 0 and 5
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w, rtol=1e-5)
  learner.fit(data, steps=5, callbacks=[cb.LRAnnealing(every=5, momentum=0.5, at_start=True)],
              verbose=0)  # a continued fit (step 5) does not update again at its start
  w = 0.5 * w + 0.5 * target
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w, rtol=1e-5)


@pytest.mark.parametrize("w_pde", [1.0, 2.0])
def test_max_mode_is_the_papers_algorithm_1(w_pde):
  learner, data = frozen_learner(P, Q), make_data(z_bc=(0.01,))
  learner.loss_weights["pde"] = w_pde
  learner.fit(data, steps=5, callbacks=[cb.LRAnnealing(every=5, momentum=0.5, mode="max")],
              verbose=0)
  _, grads = grads_by_hand(P, Q, data)
  max_res = np.abs(grads[0]).max()                   # max over theta |grad L_r|
  mean_bc = np.abs(grads[1]).mean()                  # mean over theta |grad L_bc|
  w_hat = w_pde * max_res / (mean_bc + 1e-5 * w_pde * max_res)
  assert learner.loss_weights["pde"] == w_pde        # the residual weight is never changed
  assert learner.loss_weights["bc"] == pytest.approx(0.5 * 1.0 + 0.5 * w_hat, rel=1e-5)
  assert learner.logs["lra_grad_pde"] == pytest.approx(max_res, rel=1e-6)
  assert learner.logs["lra_grad_bc"] == pytest.approx(mean_bc, rel=1e-5)
  assert learner.loss_weights["bc"] > 100            # the 1e4x weaker term is lifted


def test_compiles_once_and_never_retraces_the_chunk():
  learner, lra = of.Learner(PQ(), TwoTerms(), optax.sgd(0.01)), cb.LRAnnealing(every=10)
  history = learner.fit(make_data(), steps=50, callbacks=[lra], verbose=0)
  learner.fit(make_data(), steps=30, callbacks=[lra], verbose=0)
  assert learner.trace_counts["chunk"] == 1 and learner.trace_counts["lr_annealing"] == 1
  assert len(history["lra_target_bc"]) == 8 and np.all(np.isfinite(history["lra_target_bc"]))


@pytest.mark.parametrize("kwargs, match", [
    ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\); got 1.0"),
    ({"momentum": -0.1}, "momentum must be"),
    ({"every": -5}, "every must be a positive int"),
    ({"mode": "median"}, r"mode must be one of \('mean', 'max'\); got 'median'"),
    ({"residual_term": "pde"}, "residual_term is only used with mode='max'"),
])
def test_bad_options_are_refused(kwargs, match):
  with pytest.raises(ValueError, match=match):
    cb.LRAnnealing(**kwargs)


def test_bad_terms_are_refused_before_compiling():
  learner = frozen_learner()
  with pytest.raises(ValueError, match=r"unknown loss term\(s\) \['ic'\]; the terms are \['pde', 'bc'\]"):
    learner.fit(make_data(), steps=5, callbacks=[cb.LRAnnealing(every=5, terms=("ic", "bc"))],
                verbose=0)
  with pytest.raises(ValueError, match="residual_term='res' is not among the balanced terms"):
    learner.fit(make_data(), steps=5,
                callbacks=[cb.LRAnnealing(every=5, mode="max", residual_term="res")], verbose=0)
  with pytest.raises(ValueError, match="at least 2 loss terms"):
    learner.fit(make_data(), steps=5, callbacks=[cb.LRAnnealing(every=5, terms="bc")], verbose=0)
  assert "chunk" not in learner.trace_counts


def test_non_bool_flags_are_refused():
  with pytest.raises(TypeError, match="as_trained must be a bool; got 'yes'"):
    cb.LRAnnealing(as_trained="yes")
  with pytest.raises(TypeError, match="at_start must be a bool; got 1"):
    cb.LRAnnealing(at_start=1)
