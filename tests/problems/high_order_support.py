"""High-order keys against per-point nested ``jax.grad`` (shared by the
float32 test and the float64 one, which runs this file in a subprocess
because ``jax_enable_x64`` is process-global)."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import opifex_fit as of
from opifex_fit.problems.derivatives import Derivatives

NAMES = ("x", "y", "t")
KEYS = ("xxxx", "xxy", "ttx", "xyy", "xxxy")


def closed_form(p):
  """Two outputs with every partial up to fourth order non-zero."""
  x, y, t = p[0], p[1], p[2]
  return jnp.stack([jnp.sin(2 * x) * jnp.exp(0.5 * y) * (1 + t ** 2), jnp.cos(x + 0.5 * y - t)])


def mlp_fn(dtype, activation="tanh"):
  net = of.models.MLP(3, [8, 8, 2], activation=activation, rngs=nnx.Rngs(0))
  if dtype != jnp.float32:
    net = jax.tree.map(lambda a: a.astype(dtype), net)
  return lambda p: net(p[None])[0]


def nested_grad(f, spec):
  """d^k f / dx_spec[0] ... dx_spec[k-1] at one point, by nested reverse mode."""
  def component(c):
    g = lambda p: f(p)[c]
    for i in spec:
      g = (lambda h, i: lambda p: jax.grad(h)(p)[i])(g, i)
    return g
  return lambda p: jnp.stack([component(c)(p) for c in range(2)])


def compare(dtype, tol, activation="tanh", keys=KEYS, closed=True):
  """Every key, per point (``evaluate``) and batched (``evaluate_batch``),
  agrees with nested ``jax.grad`` to ``tol`` relative to its largest value.
  (One jit per function: one compilation is faster than eager dispatch.)"""
  eng = Derivatives(NAMES)
  pts = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (8, 3)), dtype)
  funcs = [("closed form", closed_form)] if closed else []
  for label, f in funcs + [("MLP", mlp_fn(dtype, activation))]:
    def every_way(q, f=f):
      per_point = jax.vmap(lambda p: eng.evaluate(f, p, keys)[1])(q)
      batched = eng.evaluate_batch(jax.vmap(f), q, keys)[1]
      exact = {k: jax.vmap(nested_grad(f, eng.spec(k)))(q) for k in keys}
      return per_point, batched, exact
    per_point, batched, exact = jax.jit(every_way)(pts)
    for key in keys:
      scale = float(jnp.max(jnp.abs(exact[key])))
      assert scale > 1e-3, (label, key, scale)  # a key that is not trivially zero
      for mode, got in (("per point", per_point[key]), ("batched", batched[key])):
        assert got.dtype == dtype, (label, key, mode, got.dtype)
        np.testing.assert_allclose(got, exact[key], rtol=tol, atol=tol * scale,
                                   err_msg=f"{label} {mode} d[{key!r}]")


if __name__ == "__main__":  # float64: python high_order_support.py (x64 on)
  jax.config.update("jax_enable_x64", True)
  compare(jnp.float64, 1e-10)
  print("float64 high-order agreement ok")
