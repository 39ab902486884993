"""CausalWeighting against hand computations (Wang, Sankaran, Perdikaris 2022)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.callbacks.causal_weighting import causal_weights
from support import make_learner, sine_data

BOX = of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)})


def heat_problem():
  return of.PDEProblem(lambda x, u, d: d["t"] - 0.1 * d["xx"], BOX,
                       [of.InitialCondition(lambda x: jnp.cos(np.pi * x[0]))])


def test_chunk_losses_and_weights_by_hand():
  sq = jnp.array([1.0, 2.0, 3.0, 4.0])
  t = jnp.array([0.1, 0.6, 0.2, 0.9])
  losses, w = causal_weights(sq, jnp.ones(4), t, 0.0, 1.0, 2, 0.5)
  np.testing.assert_allclose(losses, [2.0, 3.0])          # chunk 0: {1, 3}; chunk 1: {2, 4}
  np.testing.assert_allclose(w, [1.0, math.exp(-0.5 * 2.0)], rtol=1e-6)
  # A masked point (mesh padding) counts nowhere; an empty chunk has L = 0.
  losses, w = causal_weights(sq, jnp.array([1.0, 0.0, 1.0, 0.0]), t, 0.0, 1.0, 3, 1.0)
  np.testing.assert_allclose(losses, [2.0, 0.0, 0.0])
  np.testing.assert_allclose(w, [1.0, math.exp(-2.0), math.exp(-2.0)], rtol=1e-6)


def test_one_sgd_step_follows_the_causal_loss_with_frozen_weights():
  problem, lr, eps, m = heat_problem(), 0.05, 2.0, 4
  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
  data = problem.sample(64, n_initial=16, seed=1)
  learner = of.Learner(model, problem, optax.sgd(lr))
  graphdef, params = nnx.split(model, nnx.Param)[:2]
  params = jax.tree.map(jnp.array, params)  # the fit writes its final weights into model
  pts = jnp.asarray(data["pde"])

  def hand(p, frozen):
    mdl = nnx.merge(graphdef, p)
    sq = problem.pointwise_residuals(mdl, "pde", pts) ** 2
    idx = np.minimum((np.asarray(pts[:, 1]) * m).astype(int), m - 1)
    chunk = jnp.stack([jnp.mean(sq[idx == i]) for i in range(m)])
    w = frozen if frozen is not None else jnp.exp(-eps * (jnp.cumsum(chunk) - chunk))
    ic = problem.loss_terms(mdl, {"ic": jnp.asarray(data["ic"])})["ic"]
    return jnp.mean(w * chunk) + ic, w

  total, w0 = hand(params, None)
  grads = jax.grad(lambda p: hand(p, jax.lax.stop_gradient(w0))[0])(params)
  history = learner.fit(data, steps=1, verbose=0,
                        callbacks=[cb.CausalWeighting(n_chunks=m, eps=eps)])
  assert history["loss"][0] == pytest.approx(float(total), rel=1e-5)
  assert history["causal_weight_min"][0] == pytest.approx(float(w0[-1]), rel=1e-5)
  expected = jax.tree.map(lambda p, g: p - lr * g, params, grads)
  for a, b in zip(jax.tree.leaves(learner.state.params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # evaluate reports the plain loss (no causality)
  plain = float(jnp.mean(problem.pointwise_residuals(learner.model, "pde", pts) ** 2))
  assert learner.evaluate(data)["pde_loss"] == pytest.approx(plain, rel=1e-5)


def test_the_schedule_raises_eps_without_recompiling():
  problem = heat_problem()
  learner = of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), problem)
  causal = cb.CausalWeighting(n_chunks=4, eps=1e-3, schedule=[1e-3, 1e-2, 1e-1], tol=0.5)
  history = learner.fit(problem.sample(64, n_initial=16), steps=40, steps_per_execution=10,
                        callbacks=[causal], verbose=0)
  # min w > 0.5 at once with tiny eps: one step of the schedule per boundary
  assert history["causal_eps"][:3] == pytest.approx([1e-3, 1e-2, 1e-1])
  assert causal.state_dict() == {"stage": 2}
  assert learner.trace_counts["chunk"] == 1


def test_bad_arguments_are_refused_before_compiling():
  with pytest.raises(ValueError, match="n_chunks"):
    cb.CausalWeighting(n_chunks=0)
  with pytest.raises(ValueError, match="eps"):
    cb.CausalWeighting(eps=-1.0)
  with pytest.raises(ValueError, match="schedule"):
    cb.CausalWeighting(eps=1.0, schedule=[10.0, 1.0])
  problem = heat_problem()
  learner = of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), problem)
  with pytest.raises(ValueError, match="time='tau'"):
    learner.fit(problem.sample(16, n_initial=4), steps=1, verbose=0,
                callbacks=[cb.CausalWeighting(time="tau")])
  with pytest.raises(TypeError, match="PDEProblem"):
    make_learner().fit(sine_data(), steps=1, verbose=0, callbacks=[cb.CausalWeighting()])
  assert "chunk" not in learner.trace_counts
