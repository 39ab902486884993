"""RobinBC, OperatorBC and PointData: losses against hand computations."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of

SQUARE = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
zero_pde = lambda x, u, d: u * 0.0


def term_residuals(problem, model, term, pts):
  fn = jax.jit(lambda p: problem.pointwise_residuals(model, term, p))
  return np.asarray(fn(jnp.asarray(pts, jnp.float32)))


def test_robin_is_normal_flux_minus_value_of_u(analytic):
  model = analytic(lambda p: p[:, 0] ** 2 + 3 * p[:, 1])          # grad u = (2x, 3)
  problem = of.PDEProblem(zero_pde, SQUARE, [of.RobinBC(lambda x, u: -u, on="right"),
                                             of.RobinBC(0.5, on="top", name="top_flux")])
  y = np.linspace(0.1, 0.9, 5)
  right = np.stack([np.ones_like(y), y], -1)
  # du/dn = 2 at x = 1, value -u = -(1 + 3y): residual 2 + 1 + 3y
  np.testing.assert_allclose(term_residuals(problem, model, "robin", right), 3 + 3 * y, rtol=1e-5)
  top = np.stack([y, np.ones_like(y)], -1)
  np.testing.assert_allclose(term_residuals(problem, model, "top_flux", top), 3 - 0.5, rtol=1e-5)


def test_operator_bc_reads_only_its_keys(analytic):
  model = analytic(lambda p: p[:, 0] ** 3 + p[:, 0] * p[:, 1] ** 2)
  problem = of.PDEProblem(zero_pde, SQUARE, [
      of.OperatorBC(lambda x, u, d: d["xx"] - 6 * x[0], on="right", name="moment"),
      of.OperatorBC(lambda x, u, d: d["xy"] + u, on="left", name="mixed")])
  y = np.linspace(0.0, 1.0, 4)
  right = np.stack([np.ones_like(y), y], -1)
  np.testing.assert_allclose(term_residuals(problem, model, "moment", right), 0.0, atol=1e-5)
  left = np.stack([np.zeros_like(y), y], -1)
  np.testing.assert_allclose(term_residuals(problem, model, "mixed", left), 2 * y, atol=1e-5)
  assert problem.conditions[0].keys() == {"xx"} and problem.conditions[1].keys() == {"xy"}


def test_point_data_loss_of_one_component_is_the_hand_mean(analytic):
  model = analytic(lambda p: jnp.stack([p[:, 0], p[:, 1], p[:, 0] + p[:, 1]], -1))
  pts = np.array([[0.0, 0.0], [0.5, 0.25]])
  problem = of.PDEProblem(lambda x, u, d: u[0] * 0.0, SQUARE, [
      of.PointData(pts, [1.0, 0.0], component=2, name="p_pin"),
      of.PointData(pts, [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]])])
  data = problem.sample(8, n_boundary=4)
  assert set(data) == {"pde", "p_pin", "data"}
  terms = problem.loss_terms(model, problem.prepare(model, data))
  np.testing.assert_allclose(terms["p_pin"], ((0 - 1) ** 2 + (0.75 - 0) ** 2) / 2, rtol=1e-6)
  np.testing.assert_allclose(terms["data"], (0.25 ** 2 + 0.75 ** 2) / 6, rtol=1e-6)
  assert problem.condition_names == []   # observations are not resampled collocation terms


def test_observations_are_point_data_named_data(analytic):
  model = analytic(lambda p: p[:, 0])
  x = np.array([[0.5, 0.5], [1.0, 0.0]])
  problem = of.PDEProblem(zero_pde, SQUARE, observations=(x, np.array([0.0, 1.0])))
  terms = problem.loss_terms(model, problem.prepare(model, problem.sample(8)))
  np.testing.assert_allclose(terms["data"], 0.25 / 2, rtol=1e-6)


def test_point_data_shapes_and_values_refused_before_compiling(analytic):
  model = analytic(lambda p: jnp.stack([p[:, 0], p[:, 1]], -1))
  bad = [(of.PointData([[0.0, 0.0]], [1.0], component=2), "component=2 but the model has 2"),
         (of.PointData([[0.0, 0.0]], [[1.0, 2.0, 3.0]]), r"expected \(1, 2\)")]
  for cond, match in bad:
    problem = of.PDEProblem(lambda x, u, d: u[0], SQUARE, [cond])
    with pytest.raises(ValueError, match=match):
      problem.prepare(model, problem.sample(8))
  with pytest.raises(ValueError, match=r"PointData values must have shape \(2,\)"):
    of.PointData([[0.0, 0.0], [1.0, 1.0]], [1.0, 2.0, 3.0])
  with pytest.raises(ValueError, match="non-finite"):
    of.PointData([[np.nan, 0.0]], [1.0])
  with pytest.raises(ValueError, match=r"PointData 'data' points must have shape \(n, 2\)"):
    of.PDEProblem(zero_pde, SQUARE, [of.PointData([[0.0, 0.0, 0.0]], [1.0])])
  with pytest.raises(TypeError, match="OperatorBC residual must be a function"):
    of.OperatorBC(1.0)


def test_fit_with_robin_operator_and_pin_trains_with_one_compile():
  """A 2-output model: u solves a Robin/operator problem, the second output is pinned."""
  def residual(x, u, d):
    return d["xx"][0] + d["yy"][0] - u[1]
  problem = of.PDEProblem(residual, SQUARE, [
      of.RobinBC(lambda x, u: -u, on="right", component=0),
      of.OperatorBC(lambda x, u, d: d["x"][0] - u[1], on="left"),
      of.DirichletBC(0.0, on=["top", "bottom"], component=0),
      of.PointData([[0.0, 0.0]], [1.0], component=1, name="pin")])
  learner = of.Learner(of.models.MLP(2, [16, 2], rngs=nnx.Rngs(0)), problem, optax.adam(1e-2))
  history = learner.fit(problem.sample(64, 32, seed=1), steps=60, verbose=0,
                        steps_per_execution=20)
  assert set(history) >= {"robin_loss", "operator_loss", "bc_loss", "pin_loss"}
  assert history["pin_loss"][-1] < 0.5 * history["pin_loss"][0]
  assert learner.trace_counts["chunk"] == 1


def test_robin_and_neumann_use_the_exact_normals_of_curved_rims(analytic):
  """u = x^2 + y^2 on an annulus: du/dn = 2r outward on the outer rim and, on
  the hole's rim (normals into the hole), -2r."""
  model = analytic(lambda p: p[:, 0] ** 2 + p[:, 1] ** 2)
  annulus = of.Disk((0.0, 0.0), 1.0, name="outer") - of.Disk((0.0, 0.0), 0.5, name="inner")
  problem = of.PDEProblem(zero_pde, annulus, [of.RobinBC(lambda x, u: -u, on="outer"),
                                              of.NeumannBC(0.0, on="inner", name="flux")])
  theta = np.linspace(0, 2 * np.pi, 7)
  circle = np.stack([np.cos(theta), np.sin(theta)], -1)
  np.testing.assert_allclose(term_residuals(problem, model, "robin", circle), 2 + 1, rtol=1e-5)
  np.testing.assert_allclose(term_residuals(problem, model, "flux", 0.5 * circle), -1.0, rtol=1e-5)
