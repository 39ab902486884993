"""GradNorm against a hand computation (Chen et al. 2018, Algorithm 1)."""

import json

import numpy as np
import optax
import pytest

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.callbacks.gradnorm import select_layer

from balancing_support import PQ, TwoTerms, frozen_learner, grads_by_hand, make_data


def by_hand(w, norms, losses, l0, alpha, lr):
  """One GradNorm step written out in numpy."""
  t = len(w)
  w = t * w / w.sum()
  rate = losses / l0
  r = rate / rate.mean()
  g = w * norms
  target = g.mean() * r ** alpha
  new = np.maximum(w - lr * np.sign(g - target) * norms, 1e-6)
  return t * new / new.sum(), g, r, np.abs(g - target).sum()


def test_first_and_second_update_match_the_hand_computation():
  p, q = 0.5, 2.0
  learner, gn = frozen_learner(p, q), cb.GradNorm(alpha=1.5, every=5, lr=0.025)
  data = make_data()
  learner.fit(data, steps=5, callbacks=[gn], verbose=0)
  losses, grads = grads_by_hand(p, q, data)
  norms = np.linalg.norm(grads, axis=1)  # W = w (the only parameter)
  w1, g, r, lg = by_hand(np.ones(2), norms, losses, losses, 1.5, 0.025)
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w1, rtol=1e-5)
  np.testing.assert_allclose(r, [1.0, 1.0])
  np.testing.assert_allclose([learner.logs["gradnorm_G_pde"], learner.logs["gradnorm_G_bc"]], g, rtol=1e-5)
  assert learner.logs["gradnorm_loss"] == pytest.approx(lg, rel=1e-5)
  assert gn.state_dict()["initial_losses"] == pytest.approx({"pde": losses[0], "bc": losses[1]})

  # Second update: L_pde halves (points scaled by 1/sqrt 2), L_bc stays, so
  # r = (0.5, 1) / 0.75 and the lagging bc term is pulled up harder.
  data2 = make_data(z_pde=(2 ** -0.5, 2 ** 0.5))
  learner.fit(data2, steps=5, callbacks=[gn], verbose=0)
  losses2, grads2 = grads_by_hand(p, q, data2)
  w2, g2, r2, lg2 = by_hand(w1, np.linalg.norm(grads2, axis=1), losses2, losses, 1.5, 0.025)
  np.testing.assert_allclose(r2, [2 / 3, 4 / 3], rtol=1e-6)
  np.testing.assert_allclose([learner.logs["gradnorm_r_pde"], learner.logs["gradnorm_r_bc"]], r2, rtol=1e-5)
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w2, rtol=1e-5)
  assert learner.logs["gradnorm_loss"] == pytest.approx(lg2, rel=1e-5)
  assert sum(learner.loss_weights.values()) == pytest.approx(2.0, rel=1e-6)


def test_weights_keep_their_sum_and_the_lagging_term_gains_weight():
  # bc is 100x weaker (z_bc = 0.1), so its loss decays far slower than pde's.
  learner = of.Learner(PQ(0.5, 2.0), TwoTerms(), optax.sgd(0.002))
  history = learner.fit(make_data(z_bc=(0.1,)), steps=400,
                        callbacks=[cb.GradNorm(every=20, lr=0.025)], verbose=0)
  total = np.add(history["pde_weight"], history["bc_weight"])
  np.testing.assert_allclose(total, 2.0, rtol=1e-5)
  bc = np.asarray(history["bc_weight"])
  assert bc[0] == 1.0 and bc[-1] > 1.1 and np.all(np.diff(bc) >= -1e-6)
  r_bc = np.asarray(history["gradnorm_r_bc"])
  assert np.all(r_bc[1:][np.isfinite(r_bc[1:])] > 1.0)  # bc lags: inverse rate above average


def test_resume_from_state_dict_is_exact_with_an_optax_optimizer():
  data = make_data(z_bc=(0.1,))

  def learner():
    return of.Learner(PQ(0.5, 2.0), TwoTerms(), optax.sgd(0.05))

  straight = learner()
  straight.fit(data, steps=60, callbacks=[cb.GradNorm(every=20, optimizer=optax.adam(0.05))],
               verbose=0)
  resumed, first = learner(), cb.GradNorm(every=20, optimizer=optax.adam(0.05))
  resumed.fit(data, steps=40, callbacks=[first], verbose=0)
  second = cb.GradNorm(every=20, optimizer=optax.adam(0.05))
  second.load_state_dict(json.loads(json.dumps(first.state_dict())))
  resumed.fit(data, steps=20, callbacks=[second], verbose=0)
  assert dict(resumed.loss_weights) == dict(straight.loss_weights)
  assert second.updates == 3


def test_compiles_once_and_never_retraces_the_chunk():
  learner, gn = of.Learner(PQ(), TwoTerms(), optax.sgd(0.05)), cb.GradNorm(every=10)
  learner.fit(make_data(), steps=50, callbacks=[gn], verbose=0)
  learner.fit(make_data(), steps=30, callbacks=[gn], verbose=0)
  assert learner.trace_counts["chunk"] == 1
  assert learner.trace_counts["gradnorm"] == 1
  assert gn.updates == 8


def test_default_layer_is_the_last_parameterised_layer():
  paths = ["layers/0/bias", "layers/0/kernel", "layers/1/bias", "layers/1/kernel"]
  assert select_layer(paths, None) == (2, 3)
  assert select_layer(paths, "layers/0") == (0, 1)
  assert select_layer(paths, "layers/1/kernel") == (3,)
  assert select_layer(paths, lambda p: p.endswith("kernel")) == (1, 3)
  assert select_layer(["w"], None) == (0,)
  with pytest.raises(ValueError, match=r"layer='layers/7' matches no parameter.*layers/0/bias"):
    select_layer(paths, "layers/7")


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": -0.5}, "alpha must be a finite number >= 0; got -0.5"),
    ({"every": 0}, "every must be a positive int"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"lr": 0.1, "optimizer": optax.adam(0.1)}, "give lr .* or optimizer, not both"),
    ({"terms": []}, "terms must be None"),
])
def test_bad_options_are_refused(kwargs, match):
  with pytest.raises(ValueError, match=match):
    cb.GradNorm(**kwargs)


def test_bad_terms_and_single_term_problems_are_refused_before_compiling():
  learner = frozen_learner()
  with pytest.raises(ValueError, match=r"unknown loss term\(s\) \['ic'\]; the terms are \['pde', 'bc'\]"):
    learner.fit(make_data(), steps=5, callbacks=[cb.GradNorm(every=5, terms=["pde", "ic"])],
                verbose=0)
  with pytest.raises(ValueError, match="at least 2 loss terms"):
    learner.fit(make_data(), steps=5, callbacks=[cb.GradNorm(every=5, terms=["pde"])], verbose=0)
  x = np.linspace(0, 1, 8, dtype=np.float32)[:, None]
  supervised = of.Learner(of.models.MLP(1, [4, 1], rngs=__import__("flax").nnx.Rngs(0)),
                          of.Supervised())
  with pytest.raises(ValueError, match=r"GradNorm balances at least 2 loss terms.*\['data'\]"):
    supervised.fit((x, x), steps=5, callbacks=[cb.GradNorm(every=5)], verbose=0)
  assert "chunk" not in learner.trace_counts and "chunk" not in supervised.trace_counts


def test_initial_losses_are_those_of_the_initial_weights():
  # Issue 12, M3: L_i(0) is taken at t = 0 (Chen et al. 2018), not at the first
  # update. Plain SGD at lr 0.05 on w = (p, q) with weights (1, 1) multiplies p
  # by 1 - 2 lr s0 = 0.75 and q - 1 by 1 - 2 lr s1 = 0.9 per step (s0 = 2.5, s1 = 1).
  p, q, lr = 0.5, 2.0, 0.05
  data = make_data()
  learner = of.Learner(PQ(p, q), TwoTerms(), optax.sgd(lr))
  gn = cb.GradNorm(alpha=1.5, every=5, lr=0.025)
  learner.fit(data, steps=5, callbacks=[gn], verbose=0)
  l0 = np.array([2.5 * p ** 2, (q - 1) ** 2])
  assert gn.state_dict()["initial_losses"] == pytest.approx({"pde": l0[0], "bc": l0[1]}, rel=1e-6)
  losses5 = l0 * np.array([0.75, 0.9]) ** 10
  rate = losses5 / l0
  r = rate / rate.mean()
  np.testing.assert_allclose([learner.logs["gradnorm_r_pde"], learner.logs["gradnorm_r_bc"]], r,
                             rtol=1e-5)
  _, grads = grads_by_hand(p * 0.75 ** 5, 1 + (q - 1) * 0.9 ** 5, data)
  w1, *_ = by_hand(np.ones(2), np.linalg.norm(grads, axis=1), losses5, l0, 1.5, 0.025)
  np.testing.assert_allclose([learner.loss_weights["pde"], learner.loss_weights["bc"]], w1,
                             rtol=1e-5)
  assert learner.trace_counts["gradnorm_initial"] == 1
