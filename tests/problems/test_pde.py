import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

PI = np.pi
SQUARE = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
sines = lambda p: jnp.sin(PI * p[:, 0]) * jnp.sin(PI * p[:, 1])


def poisson(x, u, d):
  return d["xx"] + d["yy"] + 2 * PI**2 * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def now(fn):
  """Runs ``fn()`` under jit (eager vmap-of-Taylor-mode is slow op by op)."""
  return jax.jit(fn)()


def seed_problem(**kw):
  return of.PDEProblem(poisson, SQUARE, [of.DirichletBC(0.0)], **{"weights": {"bc": 10.0}, **kw})


def test_loss_terms_of_known_functions(analytic):
  problem = seed_problem()
  data = problem.sample(300, 80, seed=1)
  prepared = problem.prepare(analytic(sines), data)
  terms = now(lambda: problem.loss_terms(analytic(sines), prepared))
  assert set(terms) == {"pde", "bc"}
  assert float(terms["pde"]) < 1e-8 and float(terms["bc"]) < 1e-12
  # Twice the solution: residual = -2 pi^2 s, so the loss is mean((2 pi^2 s)^2).
  terms = now(lambda: problem.loss_terms(analytic(sines, 2.0), prepared))
  s = np.sin(PI * data["pde"][:, 0]) * np.sin(PI * data["pde"][:, 1])
  np.testing.assert_allclose(float(terms["pde"]), np.mean((2 * PI**2 * s) ** 2), rtol=1e-4)


def test_masked_term_is_a_masked_mean(analytic):
  problem = seed_problem()
  model = analytic(lambda p: p[:, 0] + 1.0)   # bc residual = x + 1
  data = problem.sample(10, 40, seed=0)
  mask = np.arange(40) < 25
  data["bc"] = {"points": data["bc"], "mask": mask}
  prepared = problem.prepare(model, data)
  got = float(now(lambda: problem.loss_terms(model, prepared))["bc"])
  np.testing.assert_allclose(got, np.mean((data["bc"]["points"][mask, 0] + 1) ** 2), rtol=1e-5)


def test_systems_observations_and_output_transform(analytic):
  model = analytic(lambda p: jnp.stack([p[:, 0], p[:, 1] ** 2], axis=-1))
  system = lambda x, u, d: jnp.stack([d["x"][0] - 1.0, d["yy"][1] - 3.0])   # residual (0, -1)
  x_obs = np.array([[0.5, 0.5], [0.25, 1.0]])
  u_obs = np.array([[0.5, 0.0], [0.0, 1.0]])                                  # errors 0.25, 0.25
  problem = of.PDEProblem(system, SQUARE, observations=(x_obs, u_obs))
  assert problem.term_names() == ("pde", "data")
  data = problem.prepare(model, problem.sample(50))
  assert jax.eval_shape(lambda p: problem.pointwise_residuals(model, "pde", p), data["pde"]).shape == (50, 2)
  terms = now(lambda: problem.loss_terms(model, data))
  np.testing.assert_allclose(float(terms["pde"]), 0.5, rtol=1e-5)
  np.testing.assert_allclose(float(terms["data"]), 2 * 0.25**2 / 4, rtol=1e-5)
  # Hard constraint: u = x(1-x) y(1-y) N satisfies the Dirichlet condition exactly.
  hard = of.PDEProblem(poisson, SQUARE, [of.DirichletBC(0.0)],
                       output_transform=lambda x, u: x[0] * (1 - x[0]) * x[1] * (1 - x[1]) * u)
  net = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0))
  data = hard.prepare(net, hard.sample(20, 40))
  assert float(now(lambda: hard.loss_terms(net, data))["bc"]) < 1e-12
  assert hard.predict(net, data["pde"]).shape == (20, 1)


class Heat(nnx.Module):
  """The exact heat solution for kappa = 0.3 and a trainable kappa to recover."""

  def __init__(self):
    self.kappa = nnx.Param(jnp.array(1.0))

  def __call__(self, x):
    return (jnp.exp(-0.3 * PI**2 * x[:, 1]) * jnp.sin(PI * x[:, 0]))[:, None]


def test_inverse_parameter_read_from_model_is_recovered():
  heat = lambda x, u, d, model: d["t"] - model.kappa[...] * d["xx"]
  problem = of.PDEProblem(heat, of.Box({"x": (0.0, 1.0), "t": (0.0, 1.0)}))
  learner = of.Learner(Heat(), problem, optax.adam(0.05))
  learner.fit(problem.sample(200), steps=300, verbose=0)
  np.testing.assert_allclose(float(learner.model.kappa[...]), 0.3, atol=1e-3)


def test_fit_logs_terms_and_never_recompiles():
  problem = seed_problem()
  learner = of.Learner(of.models.MLP(2, [16, 1], rngs=nnx.Rngs(0)), problem, optax.adam(1e-3))
  bump = cb.LambdaCallback(every=5, on_step_end=lambda lr: lr.loss_weights.update(
      bc=lr.loss_weights["bc"] + 1))
  history = learner.fit(steps=20, callbacks=[bump], verbose=0)   # data=None: default samples
  assert {"loss", "pde_loss", "bc_loss"} <= set(history) and history.steps == [5, 10, 15, 20]
  assert learner.trace_counts["chunk"] == 1 and learner.loss_weights["bc"] == 14.0
  assert learner.state.data["pde"].shape == (2000, 2)
  with pytest.raises(ValueError, match="batch_size"):
    learner.fit(steps=5, batch_size=32, verbose=0)


def test_relative_l2_helper(analytic):
  exact = lambda p: np.sin(PI * p[:, 0]) * np.sin(PI * p[:, 1])
  assert seed_problem().relative_l2(analytic(sines), exact, n=500) < 1e-6
  np.testing.assert_allclose(seed_problem().relative_l2(analytic(sines, 1.5), exact), 0.5, rtol=1e-5)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("bc"), r"expected exactly \['pde', 'bc'\]"),
    (lambda d: d.update(pde=np.zeros((10, 3))), r"data\['pde'\] must have shape \(n, 2\)"),
    (lambda d: d.update(pde=np.zeros((0, 2))), "n > 0"),
    (lambda d: d.update(bc={"points": np.zeros((4, 2)), "mask": np.ones(4)}), "bool array"),
    (lambda d: d["pde"].__setitem__((0, 0), np.nan), "non-finite"),
])
def test_bad_data(change, match):
  problem = seed_problem()
  data = problem.sample(10, 10)
  change(data)
  with pytest.raises((ValueError, TypeError), match=match):
    problem.prepare(of.models.MLP(2, [4, 1], rngs=nnx.Rngs(0)), data)


@pytest.mark.parametrize("kwargs, match", [
    (dict(residual=lambda x, u, d: d["z"]), r"d\['z'\].*coordinates are \['x', 'y'\]"),
    (dict(residual=lambda x, u, d: jnp.zeros((2, 2))), "scalar or a 1-D vector"),
    (dict(conditions=[of.DirichletBC(lambda x: x)]), "value has shape"),
    (dict(conditions=[of.DirichletBC(0.0, component=3)]), "component=3"),
])
def test_bad_residuals_refused_before_compiling(kwargs, match):
  args = {"residual": poisson, "conditions": [of.DirichletBC(0.0)], **kwargs}
  problem = of.PDEProblem(args["residual"], SQUARE, args["conditions"])
  learner = of.Learner(of.models.MLP(2, [4, 1], rngs=nnx.Rngs(0)), problem)
  with pytest.raises(ValueError, match=match):
    learner.fit(problem.sample(10, 10), steps=1, verbose=0)
  assert "chunk" not in learner.trace_counts


def test_bad_construction():
  with pytest.raises(ValueError, match="unknown term 'ic'"):
    seed_problem(weights={"ic": 1.0})
  with pytest.raises(TypeError, match=r"\(x, u, d\) or \(x, u, d, model\)"):
    of.PDEProblem(lambda x, u: u, SQUARE)
  with pytest.raises(ValueError, match=r"observations\[1\] must have shape \(3,\)"):
    of.PDEProblem(poisson, SQUARE, observations=(np.zeros((3, 2)), np.zeros(4)))
  with pytest.raises(TypeError, match="domain must be"):
    of.PDEProblem(poisson, {"x": (0, 1)})
  with pytest.raises(ValueError, match="n_boundary must be a positive int"):
    seed_problem().sample(10, n_boundary=0)
