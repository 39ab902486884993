"""Derivative keys of any order: reading, values against nested jax.grad,
training through the Learner, and refusals before compiling."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import opifex_fit as of
from opifex_fit.problems.derivatives import Derivatives
from problems import high_order_support


def test_keys_of_any_order_match_nested_grad_float32():
  high_order_support.compare(jnp.float32, 1e-5)


def test_models_without_jet_rules_fall_back_to_nested_jvp():
  high_order_support.compare(jnp.float32, 1e-5, activation="softplus", keys=("xxxx", "xxy"),
                             closed=False)


def test_keys_of_any_order_match_nested_grad_float64():
  script = os.path.join(os.path.dirname(__file__), "high_order_support.py")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
  out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env,
                       timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "float64 high-order agreement ok" in out.stdout


def test_keys_read_in_any_order_with_long_names_and_lazily():
  eng = Derivatives(("x1", "x2", "t"))
  assert eng.spec("x1x1x2") == eng.spec("x2x1x1") == eng.spec("x1x2x1") == (0, 0, 1)
  assert eng.spec("ttx2") == (1, 2, 2)
  assert eng.spec("x1" * 40) == (0,) * 40  # no table of all keys: read on demand
  assert "x1x1x2" not in eng.keys  # the table holds orders 1 and 2 only


def test_ambiguous_key_is_refused_with_both_readings():
  eng = Derivatives(("a", "b", "bab"))
  assert eng.spec("aab") == (0, 0, 1)
  with pytest.raises(ValueError, match=r"'bab' is ambiguous.*d/da d/db d/db or as d/dbab"):
    eng.discover(lambda x, u, d: d["bab"], jnp.zeros(3), jnp.zeros(()))


def fourth_order_problem(mode="batched"):
  # u = s x^4 on (0, 1): d["xxxx"] = 24 s, d["xxx"] = 24 s x, so the residual
  # d["xxxx"] - 24 + d["xxx"] - d["xxx"] is 24 (s - 1) everywhere.
  return of.PDEProblem(lambda x, u, d: d["xxxx"] - 24.0 + d["xxx"] - d["xxx"],
                       of.Interval("x", 0, 1), derivatives=mode)


@pytest.mark.parametrize("mode", ["batched", "pointwise"])
def test_fourth_order_loss_matches_hand_computation(analytic, mode):
  problem = fourth_order_problem(mode)
  model = analytic(lambda p: p[:, 0] ** 4, scale=0.5)
  data = problem.prepare(model, problem.sample(64, seed=0))
  assert float(problem.loss_terms(model, data)["pde"]) == pytest.approx(144.0, rel=1e-5)  # (24 * 0.5)^2


def test_fourth_order_problem_trains_through_the_learner_with_one_compile(analytic):
  problem = fourth_order_problem()
  learner = of.Learner(analytic(lambda p: p[:, 0] ** 4, scale=0.5), problem, optax.adam(1e-2))
  learner.fit(problem.sample(64, seed=0), steps=3, verbose=0)
  assert learner.step == 3 and learner.trace_counts["chunk"] == 1
  # Adam's first steps move by the learning rate against a gradient of constant sign.
  assert float(learner.model.scale[...]) == pytest.approx(0.53, abs=1e-4)
  # the logged loss is the chunk's mean: at s = 0.50, 0.51, 0.52
  mean = np.mean([(24 * (1 - s)) ** 2 for s in (0.50, 0.51, 0.52)])
  assert float(learner.logs["loss"]) == pytest.approx(mean, rel=1e-3)


def test_unknown_coordinate_in_a_key_is_refused_before_compiling(analytic):
  problem = of.PDEProblem(lambda x, u, d: d["t"] + d["xxz"], of.Box({"x": (0, 1), "t": (0, 1)}))
  learner = of.Learner(analytic(lambda p: p[:, 0]), problem, optax.adam(1e-3))
  with pytest.raises(ValueError, match=r"d\['xxz'\].*coordinates are \['x', 't'\].*any order"
                                       r".*'xxt', 'xxxx'"):
    learner.fit(problem.sample(16, seed=0), steps=2, verbose=0)
  assert learner.trace_counts.get("chunk", 0) == 0


def test_high_order_residual_batched_equals_pointwise():
  """Kuramoto-Sivashinsky on an MLP: both modes give the same residuals."""
  from problems.batched_support import mlp
  model = mlp(2, 1, "tanh", jnp.float32)
  res = lambda x, u, d: d["t"] + u * d["x"] + d["xx"] + d["xxxx"]
  box = of.Box({"x": (0, 2 * np.pi), "t": (0, 1)})
  pts = jnp.asarray(box.sample_interior(32, seed=1), jnp.float32)
  problems = [of.PDEProblem(res, box, derivatives=m) for m in ("batched", "pointwise")]
  rows = jax.jit(lambda p: [pr.pointwise_residuals(model, "pde", p) for pr in problems])(pts)
  np.testing.assert_allclose(rows[0], rows[1], rtol=1e-5, atol=1e-5 * float(np.abs(rows[1]).max()))
