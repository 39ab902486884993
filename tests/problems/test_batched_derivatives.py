"""The batched derivative engine agrees with the per-point one, refuses models
that mix points, and keeps the Laplacian collapsing."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from problems import batched_support
from problems.batched_support import mlp


def test_batched_matches_pointwise_float32():
  batched_support.compare(jnp.float32, 1e-6)


def test_batched_matches_pointwise_float64():
  script = os.path.join(os.path.dirname(__file__), "batched_support.py")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
  out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env,
                       timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "float64 agreement ok" in out.stdout


@pytest.mark.parametrize("condition, domain, out", [
    (of.NeumannBC(lambda x: x[0], on="x_max"), {"x": (0, 1), "y": (0, 2)}, 1),
    (of.PeriodicBC("x", derivative=1), {"x": (0, 1), "t": (0, 1)}, 1),
    (of.InitialCondition(0.5, derivative=1), {"x": (0, 1), "t": (0, 1)}, 1),
    (of.DirichletBC(lambda x: x[1], component=1), {"x": (0, 1), "y": (0, 1)}, 2),
])
def test_conditions_batched_match_pointwise(condition, domain, out):
  model = mlp(len(domain), out, "tanh", jnp.float32)
  rows = []
  for mode in ("batched", "pointwise"):
    problem = of.PDEProblem(lambda x, u, d: u, of.Box(domain), [condition], derivatives=mode)
    pts = jnp.asarray(problem.sample(16, 32, 32, seed=1)[condition.name])
    rows.append(jax.jit(lambda p, pr=problem: pr.pointwise_residuals(model, condition.name, p))(pts))
  np.testing.assert_allclose(rows[0], rows[1], rtol=1e-6, atol=1e-6)
  assert rows[0].shape[0] == 32


class MixesPoints(nnx.Module):
  """u(x_n) depends on every point of the batch (a mean over points)."""

  def __init__(self, rngs):
    self.net = of.models.MLP(2, [8, 1], rngs=rngs)

  def __call__(self, x):
    h = self.net(x)
    return h + jnp.mean(h, axis=0, keepdims=True)


class BatchNormMLP(nnx.Module):
  def __init__(self, rngs):
    self.a, self.bn, self.b = nnx.Linear(2, 8, rngs=rngs), nnx.BatchNorm(8, rngs=rngs), \
        nnx.Linear(8, 1, rngs=rngs)

  def __call__(self, x):
    return self.b(jnp.tanh(self.bn(self.a(x))))


def poisson():
  return lambda x, u, d: d["xx"] + d["yy"] - 1.0


@pytest.mark.parametrize("make", [MixesPoints, BatchNormMLP])
def test_models_that_mix_points_are_refused_before_compiling(make):
  problem = of.PDEProblem(poisson(), of.Box({"x": (0, 1), "y": (0, 1)}), [of.DirichletBC(0.0)])
  learner = of.Learner(make(nnx.Rngs(0)), problem, optax.adam(1e-3))
  with pytest.raises(ValueError, match="depends on the other points.*derivatives='pointwise'"):
    learner.fit(problem.sample(32, 8), steps=2, verbose=0)
  assert learner.trace_counts.get("chunk", 0) == 0


def test_pointwise_mode_accepts_a_model_that_mixes_points():
  problem = of.PDEProblem(poisson(), of.Box({"x": (0, 1), "y": (0, 1)}), [of.DirichletBC(0.0)],
                          derivatives="pointwise")
  learner = of.Learner(MixesPoints(nnx.Rngs(0)), problem, optax.adam(1e-3))
  learner.fit(problem.sample(32, 8), steps=2, verbose=0)
  assert learner.step == 2 and np.isfinite(learner.logs["loss"])


def test_derivatives_argument_is_checked():
  with pytest.raises(ValueError, match="derivatives must be 'batched', 'taylor' or 'pointwise'; got 'fast'"):
    of.PDEProblem(poisson(), of.Box({"x": (0, 1), "y": (0, 1)}), derivatives="fast")


@pytest.mark.parametrize("mode", ["batched", "taylor"])
def test_batched_sum_of_diagonals_costs_one_laplacian(mode):
  """d["xx"] + d["yy"] + d["zz"] costs what d["laplacian"] costs; in Taylor mode
  the collapsed sum is also cheaper than separate second derivatives."""
  model = of.models.MLP(3, [64, 64, 1], rngs=nnx.Rngs(0))
  pts = jnp.ones((256, 3))
  def flops(res):
    problem = of.PDEProblem(res, of.Box({"x": (0, 1), "y": (0, 1), "z": (0, 1)}),
                            derivatives=mode)
    fn = jax.jit(lambda p: problem.pointwise_residuals(model, "pde", p))
    return fn.lower(pts).compile().cost_analysis()["flops"]
  lap = flops(lambda x, u, d: d["laplacian"])
  assert flops(lambda x, u, d: d["xx"] + d["yy"] + d["zz"]) <= lap * 1.01
  if mode == "taylor":
    assert flops(lambda x, u, d: 2 * d["xx"] - d["yy"] + d["zz"]) > lap * 1.1


def test_dropout_model_residuals_are_pure_and_advance_the_rng():
  class DropoutMLP(nnx.Module):
    def __init__(self, rngs):
      self.a, self.drop, self.b = nnx.Linear(2, 16, rngs=rngs), nnx.Dropout(0.5, rngs=rngs), \
          nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, x):
      return self.b(self.drop(jnp.tanh(self.a(x))))

  model = DropoutMLP(nnx.Rngs(0, dropout=1))
  problem = of.PDEProblem(poisson(), of.Box({"x": (0, 1), "y": (0, 1)}))
  graphdef, state = nnx.split(model)

  @jax.jit
  def residuals(state, pts):
    m = nnx.merge(graphdef, state)
    r = problem.pointwise_residuals(m, "pde", pts)
    return r, nnx.state(m)

  pts = jnp.asarray(problem.sample(32)["pde"])
  r1, state1 = residuals(state, pts)
  r2, _ = residuals(state1, pts)
  assert r1.shape == (32,) and np.all(np.isfinite(r1))
  assert not np.allclose(r1, r2)  # a fresh dropout mask: the RNG count advanced


def test_models_with_scan_cond_and_remat_get_exact_derivatives():
  """Sub-jaxprs that are not calls (scan, cond) go through JAX's own jvp."""
  class ScanMLP(nnx.Module):
    def __init__(self, rngs):
      self.inp, self.out = nnx.Linear(2, 16, rngs=rngs), nnx.Linear(16, 1, rngs=rngs)
      self.stack = nnx.Param(0.3 * jax.random.normal(rngs.params(), (3, 16, 16)))

    def __call__(self, x):
      h = jnp.tanh(self.inp(x))
      h, _ = jax.lax.scan(lambda h, w: (jnp.tanh(h @ w), None), h, self.stack[...])
      h = jax.checkpoint(jnp.sin)(h)
      h = jax.lax.cond(True, lambda h: 2.0 * h, lambda h: h, h)
      return self.out(h)

  model = ScanMLP(nnx.Rngs(0))
  rows = []
  for mode in ("batched", "pointwise"):
    problem = of.PDEProblem(lambda x, u, d: d["xx"] + d["yy"] + d["xy"] * d["x"],
                            of.Box({"x": (0, 1), "y": (0, 1)}), derivatives=mode)
    pts = jnp.asarray(problem.sample(32)["pde"])
    rows.append(jax.jit(lambda p, pr=problem: pr.pointwise_residuals(model, "pde", p))(pts))
  np.testing.assert_allclose(rows[0], rows[1], rtol=1e-5, atol=1e-5)
