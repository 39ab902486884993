"""GradientStats and ResidualStats against hand-computed gradients and residuals."""

import csv

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import sine_data


def supervised_learner(lr=0.1):
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  return model, of.Learner(model, of.Supervised(), optax.sgd(lr))


def hand_grads(model, data):
  graphdef, params = nnx.split(model, nnx.Param)
  params = jax.tree.map(jnp.array, params)
  x, y = (jnp.asarray(a) for a in data)
  loss = lambda p: jnp.mean((nnx.merge(graphdef, p)(x) - y) ** 2)
  return params, jax.grad(loss)(params)


def test_gradient_stats_equal_the_hand_computed_gradient():
  model, learner = supervised_learner(lr=0.1)
  data = sine_data(64)
  params, grads = hand_grads(model, data)
  history = learner.fit(data, steps=1, verbose=0,
                        callbacks=[cb.GradientStats(every=1, per_layer=True)])
  assert history["grad_norm"][0] == pytest.approx(float(optax.tree.norm(grads)), rel=1e-5)
  assert history["grad_max"][0] == pytest.approx(
      max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(grads)), rel=1e-5)
  assert history["update_ratio"][0] == pytest.approx(
      0.1 * float(optax.tree.norm(grads) / optax.tree.norm(params)), rel=1e-5)
  kernel = grads["layers"][0]["kernel"][...]
  assert history["grad_norm/layers/0/kernel"][0] == pytest.approx(
      float(jnp.linalg.norm(kernel)), rel=1e-5)


def test_stats_are_taken_at_the_cadence_inside_longer_chunks(tmp_path):
  data = sine_data(64)
  model, learner = supervised_learner()
  path = tmp_path / "log.csv"
  history = learner.fit(data, steps=10, verbose=0,
                        callbacks=[cb.GradientStats(every=5), cb.CSVLogger(str(path))])
  assert history.steps == [5, 10] and learner.trace_counts["chunk"] == 1
  # the value at step 5 is the gradient of the 5th step: at the weights after 4 steps
  ref_model, ref = supervised_learner()
  ref.fit(data, steps=4, verbose=0)
  _, grads = hand_grads(ref.model, data)
  assert history["grad_norm"][0] == pytest.approx(float(optax.tree.norm(grads)), rel=1e-4)
  rows = list(csv.DictReader(open(path)))
  assert float(rows[0]["grad_norm"]) == pytest.approx(history["grad_norm"][0])


def test_collected_values_reach_tensorboard(tmp_path):
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

  _, learner = supervised_learner()
  history = learner.fit(sine_data(64), steps=10, verbose=0,
                        callbacks=[cb.GradientStats(every=5), cb.ResidualStats(every=5),
                                   cb.TensorBoard(str(tmp_path), every=5)])
  ea = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "tensors": 0})
  ea.Reload()
  assert {"grad_norm", "update_ratio", "data_residual_max"} <= set(ea.Tags()["scalars"])
  events = ea.Scalars("grad_norm")
  assert [e.step for e in events] == [5, 10]
  np.testing.assert_allclose([e.value for e in events], history["grad_norm"], rtol=1e-6)


def test_residual_stats_of_a_pde_problem_equal_the_hand_residuals():
  box = of.Box({"x": (0.0, 1.0)})
  problem = of.PDEProblem(lambda x, u, d: d["xx"] + 1.0, box, [of.DirichletBC(0.0)])
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  data = problem.sample(32, 2, seed=3)
  expected = {}
  for term in ("pde", "bc"):
    r = np.asarray(problem.pointwise_residuals(model, term, jnp.asarray(data[term]))).ravel()
    expected[term] = (np.abs(r).mean(), np.abs(r).max(), r.std())
  learner = of.Learner(model, problem, optax.sgd(0.01))
  history = learner.fit(data, steps=1, verbose=0, callbacks=[cb.ResidualStats(every=1)])
  for term, (mean, mx, std) in expected.items():
    assert history[f"{term}_residual_mean"][0] == pytest.approx(mean, rel=1e-5)
    assert history[f"{term}_residual_max"][0] == pytest.approx(mx, rel=1e-5)
    assert history[f"{term}_residual_std"][0] == pytest.approx(std, rel=1e-4)


def test_residual_stats_of_a_supervised_problem_and_bad_terms():
  model, learner = supervised_learner()
  x, y = sine_data(32)
  r = np.asarray(model(jnp.asarray(x))) - y
  history = learner.fit((x, y), steps=1, verbose=0, callbacks=[cb.ResidualStats(every=1)])
  assert history["data_residual_max"][0] == pytest.approx(np.abs(r).max(), rel=1e-5)
  with pytest.raises(ValueError, match="unknown loss term"):
    learner.fit((x, y), steps=1, verbose=0, callbacks=[cb.ResidualStats(terms=["pde"])])
  with pytest.raises(ValueError, match="every"):
    cb.GradientStats(every=0)
