"""LRAnnealing against hand computations (Wang, Teng, Perdikaris 2021; jaxpi)."""

import numpy as np
import optax
import pytest

import opifex_fit as of
from opifex_fit import callbacks as cb

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
