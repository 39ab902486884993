"""Cases for the batched-vs-pointwise derivative agreement tests (shared by
the float32 test and the float64 one that runs in a subprocess)."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import opifex_fit as of
from opifex_fit.problems.derivatives import Derivatives


class Kappa(nnx.Module):
  """An MLP with a trainable PDE parameter (inverse problems)."""

  def __init__(self, dim, dtype, rngs):
    self.net = of.models.MLP(dim, [12, 12, 1], activation="tanh", rngs=rngs)
    if dtype != jnp.float32:
      self.net = jax.tree.map(lambda a: a.astype(dtype), self.net)
    self.kappa = nnx.Param(jnp.asarray(0.3, dtype))

  def __call__(self, x):
    return self.net(x)


def mlp(dim, out, activation, dtype, seed=0):
  net = of.models.MLP(dim, [12, 12, out], activation=activation, rngs=nnx.Rngs(seed))
  return net if dtype == jnp.float32 else jax.tree.map(lambda a: a.astype(dtype), net)


def all_keys(names):
  eng = Derivatives(names)
  return sorted(k for k in eng.keys if k != "laplacian" or eng.spatial)


def cases(dtype):
  """(label, problem kwargs, model, residual) covering the engine's features."""
  box = lambda *names: of.Box({n: (-1.0, 1.0) for n in names})
  return [
      ("1-D", dict(domain=box("x")), mlp(1, 1, "tanh", dtype),
       lambda x, u, d: d["xx"] + d["x"] * u + d["laplacian"]),
      ("2-D collapsed", dict(domain=box("x", "y")), mlp(2, 1, "sin", dtype),
       lambda x, u, d: d["xx"] + d["yy"] + jnp.sin(x[0])),
      ("2-D every key", dict(domain=box("x", "y")), mlp(2, 1, "gelu", dtype),
       lambda x, u, d: d["xx"] - 2 * d["yy"] + d["xy"] * d["yx"] + d["x"] * d["y"] + u),
      ("3-D", dict(domain=box("x", "y", "z")), mlp(3, 1, "tanh", dtype),
       lambda x, u, d: d["laplacian"] + d["xz"] + d["zz"] * d["z"]),
      ("time", dict(domain=box("x", "t")), mlp(2, 1, "softplus", dtype),
       lambda x, u, d: d["t"] + u * d["x"] - 0.1 * d["xx"] + d["tt"] + d["xt"]),
      ("vector output", dict(domain=box("x", "y")), mlp(2, 2, "tanh", dtype),
       lambda x, u, d: jnp.stack([d["x"][0] + d["yy"][1], u[0] * d["xx"][1] - d["xy"][0]])),
      ("hard constraint", dict(domain=box("x", "t"),
                               output_transform=lambda x, u: -jnp.sin(jnp.pi * x[0])
                               + (1 - x[0] ** 2) * x[1] * u), mlp(2, 1, "tanh", dtype),
       lambda x, u, d: d["t"] + u * d["x"] - 0.01 / jnp.pi * d["xx"]),
      ("trainable parameter", dict(domain=box("x", "t")), Kappa(2, dtype, nnx.Rngs(1)),
       lambda x, u, d, model: d["t"] - model.kappa[...] * d["xx"]),
  ]


def compare(dtype, rtol, modes=("batched", "taylor")):
  """Batched and per-point residuals (and every derivative key) agree.

  Each derivative agrees to ``rtol`` relative to its largest value; residuals
  to ``rtol`` relative to the largest term that enters them (a residual is a
  sum of terms that cancel: its own size says nothing of float rounding).
  """
  for label, kwargs, model, residual in cases(dtype):
    domain = kwargs["domain"]
    pts = jnp.asarray(domain.sample_interior(64, seed=3), dtype)
    reference = of.PDEProblem(residual, derivatives="pointwise", **kwargs)
    keys = all_keys(domain.names)
    f = reference.point_fn(model)
    u_p, d_p = jax.jit(jax.vmap(lambda x: reference.engine.evaluate(f, x, keys)))(pts)
    rows_p = jax.jit(lambda p: reference.pointwise_residuals(model, "pde", p))(pts)
    terms = max([1.0, float(jnp.max(jnp.abs(u_p)))] +
                [float(jnp.max(jnp.abs(v))) for v in d_p.values()])
    for mode in modes:
      problem = of.PDEProblem(residual, derivatives=mode, **kwargs)
      rows = jax.jit(lambda p, problem=problem: problem.pointwise_residuals(model, "pde", p))(pts)
      assert rows.dtype == dtype, (label, mode, rows.dtype)
      np.testing.assert_allclose(rows, rows_p, rtol=rtol, atol=rtol * terms,
                                 err_msg=f"{label} ({mode})")
      fn = lambda x, problem=problem: problem.batch_transform(x, model(x))
      u_b, d_b = jax.jit(lambda p, problem=problem, fn=fn: problem.engine.evaluate_batch(
          fn, p, keys, second_order=problem.second_order))(pts)
      np.testing.assert_allclose(u_b, u_p, rtol=rtol, atol=rtol, err_msg=label)
      for k in keys:
        scale = max(1.0, float(jnp.max(jnp.abs(d_p[k]))))
        np.testing.assert_allclose(d_b[k], d_p[k], rtol=rtol, atol=rtol * scale,
                                   err_msg=f"{label} ({mode}): d[{k!r}]")


if __name__ == "__main__":  # float64: python batched_support.py (x64 on)
  jax.config.update("jax_enable_x64", True)
  compare(jnp.float64, 1e-12)
  print("float64 agreement ok")
