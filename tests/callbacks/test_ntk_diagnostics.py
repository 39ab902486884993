"""NTKDiagnostics against kernels written down by hand."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

from balancing_support import PQ, TwoTerms, make_data


class Line(nnx.Module):
  """u = a x + b: per-example Jacobian row (x, 1)."""

  def __init__(self):
    self.a, self.b = nnx.Param(jnp.float32(0.3)), nnx.Param(jnp.float32(-0.2))

  def __call__(self, x):
    return self.a[...] * x + self.b[...]


class Quadratic(nnx.Module):
  """u = a x^2 + b x: u_xx = 2a, so d(u_xx - 2)/d(a, b) = (2, 0); du/d(a, b) = (x^2, x)."""

  def __init__(self):
    self.a, self.b = nnx.Param(jnp.float32(0.7)), nnx.Param(jnp.float32(0.1))

  def __call__(self, x):
    return self.a[...] * x ** 2 + self.b[...] * x


def stats(logs, term):
  return [logs[f"ntk_{k}_{term}"] for k in ("trace", "lmax", "lmin", "cond", "trace_ratio")]


def test_supervised_kernel_of_a_line():
  x = np.arange(4, dtype=np.float32)[:, None]
  learner = of.Learner(Line(), of.Supervised(), optax.sgd(0.0))
  learner.fit((x, 2 * x), steps=2, callbacks=[cb.NTKDiagnostics(every=2, n_points=4)], verbose=0)
  # J rows (x_j, 1): K = J J^T has trace sum(x^2 + 1) = 18 and the nonzero
  # eigenvalues of J^T J = [[14, 6], [6, 4]]: 9 +- sqrt(61); rank 2 < 4 points.
  np.testing.assert_allclose(stats(learner.logs, "data"), [18, 9 + 61 ** 0.5, 0, np.inf, 1.0],
                             rtol=1e-5)
  learner.fit((x, 2 * x), steps=2, callbacks=[cb.NTKDiagnostics(every=2, n_points=2)], verbose=0)
  # Two points spread over four: x = 0 and 3, K = [[1, 1], [1, 10]].
  lmax, lmin = 5.5 + 21.25 ** 0.5, 5.5 - 21.25 ** 0.5
  np.testing.assert_allclose(stats(learner.logs, "data"), [11, lmax, lmin, lmax / lmin, 1.0],
                             rtol=1e-4)


def test_pde_terms_with_a_masked_buffer():
  problem = of.PDEProblem(lambda x, u, d: d["xx"] - 2.0, of.Interval("x", 0.0, 1.0),
                          conditions=[of.DirichletBC(0.0)])
  data = {"pde": np.linspace(0.1, 0.9, 5, dtype=np.float32)[:, None],
          "bc": {"points": np.array([[0.0], [0.5], [1.0]], np.float32),
                 "mask": np.array([True, False, True])}}
  learner = of.Learner(Quadratic(), problem, optax.sgd(0.0))
  learner.fit(data, steps=3, callbacks=[cb.NTKDiagnostics(every=3, n_points=3)], verbose=0)
  # pde: every row (2, 0), K = 4 ones(3, 3). bc: active x = 0, 1 only (x = 0.5 is
  # masked out): rows (0, 0), (1, 1), K = [[0, 0], [0, 2]]. Per-point traces 4 and
  # 1, so the trace ratios are 5 / 4 and 5.
  np.testing.assert_allclose(stats(learner.logs, "pde"), [12, 12, 0, np.inf, 1.25], rtol=1e-5)
  np.testing.assert_allclose(stats(learner.logs, "bc"), [2, 2, 0, np.inf, 5.0], rtol=1e-5)


def test_any_problem_with_pointwise_residuals():
  learner = of.Learner(PQ(0.5, 2.0), TwoTerms(), optax.sgd(0.0))
  learner.fit(make_data(z_pde=(1.0, 2.0), z_bc=(3.0,)), steps=2,
              callbacks=[cb.NTKDiagnostics(every=2, terms=["pde", "bc"])], verbose=0)
  # r_pde = p z, J = z (1, 0) -> K = z z^T (trace 5); r_bc = (q - 1) z -> K = [[9]].
  np.testing.assert_allclose(stats(learner.logs, "pde"), [5, 5, 0, np.inf, (2.5 + 9) / 2.5], rtol=1e-5)
  np.testing.assert_allclose(stats(learner.logs, "bc"), [9, 9, 9, 1, (2.5 + 9) / 9], rtol=1e-5)


def test_compiles_once_and_never_retraces_the_chunk():
  learner, ntk = of.Learner(PQ(), TwoTerms(), optax.sgd(0.01)), cb.NTKDiagnostics(every=10)
  history = learner.fit(make_data(), steps=40, callbacks=[ntk], verbose=0)
  learner.fit(make_data(), steps=20, callbacks=[ntk], verbose=0)
  assert learner.trace_counts["chunk"] == 1 and learner.trace_counts["ntk_diagnostics"] == 1
  assert len(history["ntk_trace_pde"]) == 6


class OnlyLosses(of.Problem):
  """Loss terms but no per-point residuals."""
  term_names, prepare, num_examples = TwoTerms.term_names, TwoTerms.prepare, TwoTerms.num_examples

  def loss_terms(self, model, data):
    return TwoTerms().loss_terms(model, data)


def test_bad_options_are_refused():
  with pytest.raises(ValueError, match="n_points must be a positive int; got 0"):
    cb.NTKDiagnostics(every=10, n_points=0)
  with pytest.raises(ValueError, match="every must be a positive int"):
    cb.NTKDiagnostics(every=0)
  learner = of.Learner(PQ(), TwoTerms(), optax.sgd(0.0))
  with pytest.raises(ValueError, match=r"unknown loss term\(s\) \['ic'\]; the terms are \['pde', 'bc'\]"):
    learner.fit(make_data(), steps=2, callbacks=[cb.NTKDiagnostics(every=2, terms=["ic"])], verbose=0)
  plain = of.Learner(PQ(), OnlyLosses(), optax.sgd(0.0))
  with pytest.raises(TypeError, match="NTKDiagnostics needs per-point residuals.*got OnlyLosses"):
    plain.fit(make_data(), steps=2, callbacks=[cb.NTKDiagnostics(every=2)], verbose=0)
  assert "chunk" not in learner.trace_counts and "chunk" not in plain.trace_counts
