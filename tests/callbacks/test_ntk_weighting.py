"""NTKWeighting against per-point gradients computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def poisson():
  return of.PDEProblem(lambda x, u, d: d["xx"] + np.pi ** 2 * jnp.sin(np.pi * x[0]),
                       of.Interval("x", 0.0, 1.0), [of.DirichletBC(0.0)])


def hand_trace(problem, model, term, points):
  graphdef, params = nnx.split(model, nnx.Param)
  params = jax.tree.map(jnp.array, params)

  def one(p, x):
    return problem.pointwise_residuals(nnx.merge(graphdef, p), term, x[None])[0]
  sq = [sum(float(jnp.sum(g ** 2)) for g in jax.tree.leaves(jax.grad(one)(params, x)))
        for x in jnp.asarray(points)]
  return float(np.mean(sq))


def test_traces_and_weights_equal_the_hand_computation():
  problem = poisson()
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  data = problem.sample(16, 2, seed=0)
  traces = {t: hand_trace(problem, model, t, data[t]) for t in ("pde", "bc")}
  target = {t: np.mean(list(traces.values())) / traces[t] for t in traces}
  learner = of.Learner(model, problem, optax.sgd(0.0))  # weights stay: the traces are those of init
  history = learner.fit(data, steps=10, verbose=0,
                        callbacks=[cb.NTKWeighting(every=5, momentum=0.5, chunk_size=3)])
  for t in traces:
    assert history[f"ntk_trace_{t}"][0] == pytest.approx(traces[t], rel=1e-4)
    assert history[f"ntk_target_{t}"][0] == pytest.approx(target[t], rel=1e-4)
  w = learner.state.loss_weights
  for t in traces:  # two updates of the running average from 1
    expected = 0.5 * (0.5 * 1.0 + 0.5 * target[t]) + 0.5 * target[t]
    assert float(w[t]) == pytest.approx(expected, rel=1e-4)
  assert learner.trace_counts["ntk_weighting"] == 1 and learner.trace_counts["chunk"] == 1


def test_masked_rows_do_not_count_and_n_points_subsamples():
  problem = poisson()
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  data = problem.sample(12, 2, seed=1)
  padded = dict(data, pde={"points": np.concatenate([data["pde"], np.full((4, 1), 0.5)]),
                           "mask": np.arange(16) < 12})
  first = hand_trace(problem, model, "pde", data["pde"][:8])
  learner = of.Learner(model, problem, optax.sgd(0.0))
  history = learner.fit(padded, steps=1, verbose=0, callbacks=[cb.NTKWeighting(every=1)])
  assert history["ntk_trace_pde"][0] == pytest.approx(
      hand_trace(problem, model, "pde", data["pde"]), rel=1e-4)
  history = learner.fit(padded, steps=1, verbose=0,
                        callbacks=[cb.NTKWeighting(every=1, n_points=8)])
  assert history["ntk_trace_pde"][-1] == pytest.approx(first, rel=1e-4)


def test_bad_arguments_are_refused():
  with pytest.raises(ValueError, match="momentum"):
    cb.NTKWeighting(momentum=1.0)
  with pytest.raises(ValueError, match="n_points"):
    cb.NTKWeighting(n_points=0)
  with pytest.raises(TypeError, match="PDEProblem"):
    make_learner().fit(sine_data(), steps=1, verbose=0, callbacks=[cb.NTKWeighting(every=1)])
  learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), poisson())
  with pytest.raises(ValueError, match="unknown loss term"):
    learner.fit(poisson().sample(8, 2), steps=1, verbose=0,
                callbacks=[cb.NTKWeighting(every=1, terms=["pde", "ic"])])


def heat_problem():
  return of.PDEProblem(lambda x, u, d: d["t"] - 0.1 * d["xx"],
                       of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)}),
                       [of.InitialCondition(lambda x: jnp.cos(np.pi * x[0]))])


def per_point_ntk(problem, model, term, points):
  # ||d r_j / d theta||^2 for each point j: one vmap of per-point gradients.
  graphdef, params = nnx.split(model, nnx.Param)

  def one(p, x):
    return problem.pointwise_residuals(nnx.merge(graphdef, p), term, x[None])[0]
  grads = jax.vmap(jax.grad(one), (None, 0))(params, jnp.asarray(points))
  return np.asarray(sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1)
                        for g in jax.tree.leaves(grads)))


def hand_causal_trace(problem, model, points, n_chunks, eps):
  # jaxpi's causal NTK: mean over chunks of w_i * (the chunk's mean NTK diagonal).
  pts = np.asarray(points)
  ntk = per_point_ntk(problem, model, "pde", pts)
  sq = np.asarray(problem.pointwise_residuals(model, "pde", jnp.asarray(pts))) ** 2
  chunk = np.minimum((pts[:, 1] * n_chunks).astype(int), n_chunks - 1)
  losses = np.array([sq[chunk == i].mean() for i in range(n_chunks)])
  weights = np.exp(-eps * (np.cumsum(losses) - losses))
  return float(np.mean([weights[i] * ntk[chunk == i].mean() for i in range(n_chunks)]))


@pytest.mark.parametrize("as_trained", [True, False])
def test_residual_trace_is_jaxpi_causally_weighted_one_as_trained(as_trained):
  problem, n_chunks, eps = heat_problem(), 4, 200.0
  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
  data = problem.sample(32, n_initial=8, seed=2)
  assert len(set(np.minimum((data["pde"][:, 1] * n_chunks).astype(int), 3))) == n_chunks
  expected = (hand_causal_trace(problem, model, data["pde"], n_chunks, eps) if as_trained
              else per_point_ntk(problem, model, "pde", data["pde"]).mean())
  ic = per_point_ntk(problem, model, "ic", data["ic"]).mean()
  learner = of.Learner(model, problem, optax.sgd(0.0))
  history = learner.fit(data, steps=2, verbose=0, callbacks=[
      cb.CausalWeighting(n_chunks=n_chunks, eps=eps),
      cb.NTKWeighting(every=1, momentum=0.0, as_trained=as_trained)])
  assert history["ntk_trace_pde"][0] == pytest.approx(expected, rel=1e-4)
  assert history["ntk_trace_ic"][0] == pytest.approx(ic, rel=1e-4)  # a term no hook weights
  assert history["causal_weight_min"][0] < 0.5  # the weights are far from 1: the test bites
  assert learner.trace_counts["ntk_weighting"] == 1 and learner.trace_counts["chunk"] == 1


def test_at_start_updates_before_the_first_step():
  problem = poisson()
  data = problem.sample(16, 2, seed=0)
  weights = {}
  for at_start in (False, True):
    learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), problem, optax.sgd(0.0))
    history = learner.fit(data, steps=1, verbose=0, callbacks=[
        cb.NTKWeighting(every=1, momentum=0.5, at_start=at_start)])
    target = history["ntk_target_bc"][-1]
    weights[at_start] = float(learner.state.loss_weights["bc"])
  assert weights[False] == pytest.approx(0.5 + 0.5 * target, rel=1e-5)
  assert weights[True] == pytest.approx(0.5 * (0.5 + 0.5 * target) + 0.5 * target, rel=1e-5)
  with pytest.raises(TypeError, match="at_start"):
    cb.NTKWeighting(at_start="yes")
