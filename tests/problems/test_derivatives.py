import jax
import jax.numpy as jnp
import numpy as np
import pytest

from opifex_fit.problems.derivatives import Derivatives, _Fixed


def f(p):  # a vector field of (x, y, t) with every derivative non-trivial
  return jnp.stack([jnp.sin(p[0]) * p[1] ** 2 * jnp.exp(p[2]), jnp.cos(p[0] * p[1]) + p[2] ** 2])


X = jnp.array([0.3, 0.7, 0.2])
H, J = jax.hessian(f)(X), jax.jacfwd(f)(X)
EXACT = {"x": J[:, 0], "y": J[:, 1], "t": J[:, 2], "xx": H[:, 0, 0], "yy": H[:, 1, 1],
         "tt": H[:, 2, 2], "xy": H[:, 0, 1], "yx": H[:, 0, 1], "xt": H[:, 0, 2],
         "laplacian": H[:, 0, 0] + H[:, 1, 1]}
ENG = Derivatives(("x", "y", "t"))


def run(res, u_shape=(2,)):
  keys = ENG.discover(res, jnp.zeros(3), jnp.zeros(u_shape))
  collapse = ENG.collapsible(res, jnp.zeros(3), jnp.zeros(u_shape), keys)
  u, d = ENG.evaluate(f, X, keys, collapse)
  np.testing.assert_allclose(res(X, u, _Fixed(ENG, d)), res(X, f(X), EXACT), rtol=2e-5, atol=1e-6)
  return keys, collapse


@pytest.mark.parametrize("res, keys, collapse", [
    (lambda x, u, d: d["xx"] + d["yy"], {"xx", "yy"}, True),
    (lambda x, u, d: d["t"] - 0.1 * (d["xx"] + d["yy"]) + u, {"t", "xx", "yy"}, True),
    (lambda x, u, d: d["xx"] + x[0] + d["yy"] - jnp.sin(x[1]), {"xx", "yy"}, True),
    (lambda x, u, d: 0.5 * d["xx"] + 0.5 * d["yy"], {"xx", "yy"}, True),
    (lambda x, u, d: d["xx"][0] + d["yy"][0] - u[1] * (d["xx"][1] + d["yy"][1]), {"xx", "yy"}, True),
    (lambda x, u, d: 2 * d["xx"] - d["yy"] + d["x"], {"x", "xx", "yy"}, False),
    (lambda x, u, d: d["xx"][0] + d["yy"][1], {"xx", "yy"}, False),
    (lambda x, u, d: d["laplacian"] + d["t"] * d["y"], {"laplacian", "t", "y"}, False),
    (lambda x, u, d: d["xy"] + d["yx"] + d["xt"] + d["tt"], {"xy", "yx", "xt", "tt"}, False),
    (lambda x, u, d: u * d["x"], {"x"}, False),
    (lambda x, u, d: u ** 2, set(), False),
])
def test_values_and_plans(res, keys, collapse):
  assert run(res) == (frozenset(keys), collapse)


def test_sum_of_diagonals_costs_one_laplacian():
  """d["xx"] + d["yy"] compiles to the flops of d["laplacian"]; separate diagonals cost more."""
  k = jax.random.split(jax.random.key(0), 3)
  w1, w2, w3 = (jax.random.normal(k[0], (3, 64)), jax.random.normal(k[1], (64, 64)),
                jax.random.normal(k[2], (64,)))
  mlp = lambda p: jnp.tanh(jnp.tanh(p @ w1) @ w2) @ w3
  pts = jnp.ones((256, 3))
  def flops(res):
    keys = ENG.discover(res, jnp.zeros(3), jnp.zeros(()))
    collapse = ENG.collapsible(res, jnp.zeros(3), jnp.zeros(()), keys)
    fn = jax.vmap(lambda x: res(x, *ENG.evaluate(mlp, x, keys, collapse)))
    return jax.jit(fn).lower(pts).compile().cost_analysis()["flops"]
  lap = flops(lambda x, u, d: d["laplacian"])
  assert flops(lambda x, u, d: d["xx"] + d["yy"]) <= lap * 1.01
  assert flops(lambda x, u, d: 2 * d["xx"] - d["yy"]) > lap * 1.1


def test_no_reverse_mode_through_the_network(monkeypatch):
  """No key transposes a matrix product: derivatives flow forward through layers.

  (folx takes sigma'(z) of elementwise ops with a vjp of that op alone; that
  is a local derivative, not reverse mode through the network.)
  """
  from jax._src.interpreters import ad
  original = ad.backward_pass3

  def guarded(jaxpr, *args, **kwargs):
    if any(e.primitive.name == "dot_general" for e in jaxpr.eqns):
      raise AssertionError("reverse mode through a matrix product")
    return original(jaxpr, *args, **kwargs)
  monkeypatch.setattr(ad, "backward_pass3", guarded)
  w = jax.random.normal(jax.random.key(0), (3, 8))
  net = lambda p: jnp.tanh(jnp.tanh(p @ w) @ w.T)
  for keys, collapse in [({"xx", "yy", "t", "xy", "laplacian"}, False), ({"xx", "yy"}, True)]:
    jax.make_jaxpr(lambda x: ENG.evaluate(net, x, keys, collapse))(X)
  with pytest.raises(AssertionError, match="reverse mode"):   # the guard does bite
    jax.make_jaxpr(jax.grad(lambda x: net(x)[0]))(X)


def test_jet_fallback_for_ops_without_taylor_rules():
  g = lambda p: jax.nn.softplus(2 * p[0]) * p[1]
  u, d = ENG.evaluate(g, X, {"xx", "t"})
  np.testing.assert_allclose(d["xx"], jax.hessian(g)(X)[0, 0], rtol=1e-5)


def test_unknown_key_names_key_and_coordinates():
  with pytest.raises(ValueError, match=r"d\['z'\].*coordinates are \['x', 'y', 't'\]"):
    ENG.discover(lambda x, u, d: d["z"], jnp.zeros(3), jnp.zeros(()))
  with pytest.raises(ValueError, match="needs a spatial coordinate"):
    Derivatives(("t",)).discover(lambda x, u, d: d["laplacian"], jnp.zeros(1), jnp.zeros(()))
