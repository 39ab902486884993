import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of

SQUARE = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
LINE_T = of.Box({"x": (0.0, 1.0), "t": (0.0, 1.0)})
zero_pde = lambda x, u, d: u * 0.0


def residuals(problem, model, term, n=64):
  data = problem.sample(16, n_boundary=n, n_initial=n, seed=3)
  pts = data[term]
  fn = jax.jit(lambda p: problem.pointwise_residuals(model, term, p))   # eager is slow op by op
  return pts, np.asarray(fn(jnp.asarray(pts, jnp.float32)))


def test_dirichlet_value_number_and_function(analytic):
  model = analytic(lambda p: p[:, 0] ** 2 + p[:, 1])
  problem = of.PDEProblem(zero_pde, SQUARE, [
      of.DirichletBC(1.0, on="right"), of.DirichletBC(lambda x: x[0] ** 2 + x[1], name="exact")])
  pts, r = residuals(problem, model, "bc")
  np.testing.assert_allclose(r, pts[:, 1], atol=1e-6)   # on x = 1: u - 1 = y
  _, r = residuals(problem, model, "exact")
  np.testing.assert_allclose(r, 0.0, atol=1e-6)


def test_neumann_uses_outward_normals(analytic):
  model = analytic(lambda p: p[:, 0] ** 2 + 3 * p[:, 1])    # grad u = (2x, 3)
  problem = of.PDEProblem(zero_pde, SQUARE, [of.NeumannBC(0.0)])
  pts, r = residuals(problem, model, "bc", n=200)
  expect = np.select([np.isclose(pts[:, 0], 1), np.isclose(pts[:, 0], 0),
                      np.isclose(pts[:, 1], 1), np.isclose(pts[:, 1], 0)], [2.0, 0.0, 3.0, -3.0])
  np.testing.assert_allclose(r, expect, atol=1e-5)


def test_initial_value_and_time_derivative(analytic):
  model = analytic(lambda p: jnp.sin(jnp.pi * p[:, 0]) * jnp.exp(-p[:, 1]))
  problem = of.PDEProblem(zero_pde, LINE_T, [
      of.InitialCondition(lambda x: jnp.sin(jnp.pi * x[0])),
      of.InitialCondition(0.0, derivative=1, name="ic_t")])
  _, r = residuals(problem, model, "ic")
  np.testing.assert_allclose(r, 0.0, atol=1e-6)
  pts, r = residuals(problem, model, "ic_t")
  np.testing.assert_allclose(r, -np.sin(np.pi * pts[:, 0]), atol=1e-5)   # u_t(x, 0) = -sin(pi x)


def test_periodic_pairs_opposite_faces(analytic):
  periodic = analytic(lambda p: jnp.cos(2 * jnp.pi * p[:, 0]) + p[:, 1])
  ramp = analytic(lambda p: p[:, 0] ** 2 + p[:, 1])
  problem = of.PDEProblem(zero_pde, LINE_T, [of.PeriodicBC("x"), of.PeriodicBC("x", derivative=1,
                                                                            name="periodic_x")])
  np.testing.assert_allclose(residuals(problem, periodic, "periodic")[1], 0.0, atol=1e-5)
  np.testing.assert_allclose(residuals(problem, ramp, "periodic")[1], -1.0, atol=1e-6)
  np.testing.assert_allclose(residuals(problem, ramp, "periodic_x")[1], -2.0, atol=1e-5)


def test_component_of_vector_output(analytic):
  model = analytic(lambda p: jnp.stack([p[:, 0], 2 + p[:, 1]], axis=-1))
  problem = of.PDEProblem(lambda x, u, d: u[0] - u[0], SQUARE,
                          [of.DirichletBC(2.0, on="bottom", component=1)])
  np.testing.assert_allclose(residuals(problem, model, "bc")[1], 0.0, atol=1e-6)


def test_names_default_numbered_and_explicit_clash_refused():
  problem = of.PDEProblem(zero_pde, SQUARE, [of.DirichletBC(0.0, on="left"), of.NeumannBC(0.0, on="right")])
  assert problem.term_names() == ("pde", "bc", "bc_2")
  with pytest.raises(ValueError, match="name='wall', already used"):
    of.PDEProblem(zero_pde, SQUARE, [of.DirichletBC(0.0, name="wall"), of.NeumannBC(0.0, name="wall")])


@pytest.mark.parametrize("domain, condition, match", [
    (SQUARE, of.DirichletBC(0.0, on="z_max"), "'z_max' is not a face"),
    (SQUARE, of.DirichletBC(0.0, on="front"), "'front' is not a face"),
    (SQUARE, of.InitialCondition(0.0), "coordinate named 't'"),
    (LINE_T, of.PeriodicBC("t"), "needs a spatial coordinate"),
    (SQUARE, of.PeriodicBC("z"), "needs a spatial coordinate"),
])
def test_bad_conditions(domain, condition, match):
  with pytest.raises(ValueError, match=match):
    of.PDEProblem(zero_pde, domain, [condition])


def test_bad_condition_arguments():
  with pytest.raises(TypeError, match="value must be a number"):
    of.DirichletBC("zero")
  with pytest.raises(ValueError, match="derivative must be 0"):
    of.InitialCondition(0.0, derivative=2)
  with pytest.raises(TypeError, match="must be an opifex_fit condition"):
    of.PDEProblem(zero_pde, SQUARE, [object()])


def test_neumann_on_one_face_uses_that_face_normal_at_its_corners():
  """Issue 12 L1 end to end: at the corner (1, 0) of a condition on x_max the
  flux is du/dx alone (averaging with the y_min normal would mix in -du/dy)."""
  from flax import nnx

  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
  problem = of.PDEProblem(lambda x, u, d: u, of.Box({"x": (0, 1), "y": (0, 1)}),
                          [of.NeumannBC(0.0, on="x_max", name="flux")])
  corner = jnp.array([[1.0, 0.0]])
  r = problem.pointwise_residuals(model, "flux", corner)
  du_dx = jax.grad(lambda p: model(p[None])[0, 0])(corner[0])[0]
  np.testing.assert_allclose(r, [du_dx], rtol=1e-6)
