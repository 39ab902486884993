"""Seed Poisson PINN: Learner.fit against the fastest hand-written JAX loops.

Workload: Delta u = -2 pi^2 sin(pi x) sin(pi y) on (0, 1)^2, u = 0 on the
boundary; MLP 2-50-50-50-1 tanh, Adam(1e-3), 2000 interior + 400 boundary
points, full batch, 100 steps per ``lax.scan``. Every loop trains the same
network on the same points. Reference (the fastest formulation we could
write): the forward Laplacian by hand, batched: value, Jacobian (2, N, width)
and Laplacian pushed layer by layer through the MLP for all points at once.
Extra rows: nested ``jvp`` with batched one-hot tangents, and the per-point
formulations (folx forward Laplacian and nested ``jvp``, vmapped).

Runs alternate so load hits all alike; reported: steps/s after compile
(median of the repeats), the first fit's compile + run time as a user sees
it, and ratios against the reference. Goal: Learner >= 0.95x the reference.

Run: ``python benchmarks/pinn_poisson.py [--steps 1000] [--repeats 5] [--x64]``
"""

import argparse
import time

import folx
import jax
import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of
from scanned_loop import compare_alternating, scanned_adam_loop

PI = jnp.pi
CHUNK = 100


def source(x):
  return 2 * PI**2 * jnp.sin(PI * x[..., 0]) * jnp.sin(PI * x[..., 1])


def residual(x, u, d):
  return d["xx"] + d["yy"] + source(x)


def make_model(dtype):
  return of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0),
                       **({} if dtype == jnp.float32 else {"param_dtype": dtype}))


def manual_laplacian(net, x):
  """u and its Laplacian for all points: (value, J, L) through the MLP by hand.

  The Jacobian rows of both directions are stacked into one (2N, width)
  matrix, so every layer is three plain 2-D matmuls, and the squared
  Jacobian is summed by slices (the fastest variants we found on XLA:CPU: a
  rank-3 (2, N, width) @ W product was 25% slower)."""
  n = x.shape[0]
  w, b = net.layers[0].kernel[...], net.layers[0].bias[...]
  z, jz, lz = x @ w + b, jnp.broadcast_to(w[:, None, :], (2, n, w.shape[1])), None
  for layer in net.layers[1:]:
    t = jnp.tanh(z)
    d1 = 1 - t * t
    lap = -2 * t * d1 * (jz[0] * jz[0] + jz[1] * jz[1]) + (0 if lz is None else d1 * lz)
    w, b = layer.kernel[...], layer.bias[...]
    z = t @ w + b
    jz = ((d1 * jz).reshape(2 * n, -1) @ w).reshape(2, n, -1)
    lz = lap @ w
  return z[:, 0], lz[:, 0]


def laplacians(kind):
  """``lap(net, pts) -> Laplacian at pts`` for the hand-written loops."""
  def batched_jvp(net, pts):
    u = lambda y: net(y)[:, 0]
    def second(e):
      t = jnp.broadcast_to(e, pts.shape)
      return jax.jvp(lambda y: jax.jvp(u, (y,), (t,))[1], (pts,), (t,))[1]
    return second(jnp.array([1.0, 0.0], pts.dtype)) + second(jnp.array([0.0, 1.0], pts.dtype))

  def per_point(net, pts):
    u = lambda y: net(y[None])[0, 0]
    if kind == "folx":
      return jax.vmap(lambda y: folx.forward_laplacian(u, disable_jit=True)(y).laplacian)(pts)
    eye = jnp.eye(2, dtype=pts.dtype)
    def lap(y):
      second = lambda e: jax.jvp(lambda z: jax.jvp(u, (z,), (e,))[1], (y,), (e,))[1]
      return second(eye[0]) + second(eye[1])
    return jax.vmap(lap)(pts)

  return {"manual": lambda net, pts: manual_laplacian(net, pts)[1],
          "batched_jvp": batched_jvp}.get(kind, per_point)


def hand_loop(model, pts, bpts, kind):
  """A plain JAX PINN loop: returns ``run(n_chunks) -> seconds``."""
  graphdef, params = nnx.split(model, nnx.Param)
  lap = laplacians(kind)

  def loss(p):
    net = nnx.merge(graphdef, p)
    r = lap(net, pts) + source(pts)
    return jnp.mean(r**2) + 10.0 * jnp.mean(net(bpts)[:, 0] ** 2)

  return scanned_adam_loop(loss, params, CHUNK)


def learner_loop(data, dtype, derivatives="batched"):
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)], weights={"bc": 10.0},
                          derivatives=derivatives)
  learner = of.Learner(make_model(dtype), problem, optax.adam(1e-3))

  def run(n_chunks):
    start = time.perf_counter()
    learner.fit(data, steps=n_chunks * CHUNK, verbose=0, steps_per_execution=CHUNK)
    jax.block_until_ready(learner.state.params)
    return time.perf_counter() - start
  return run, learner


def main(steps=1000, repeats=5, x64=False, extra=True):
  dtype = jnp.float64 if x64 else jnp.float32
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}), [of.DirichletBC(0.0)])
  data = problem.sample(n_interior=2000, n_boundary=400, seed=0)
  pts, bpts = (jnp.asarray(data[k], dtype) for k in ("pde", "bc"))
  n_chunks = max(1, steps // CHUNK)
  runs = {"hand: manual forward Laplacian (reference)": hand_loop(make_model(dtype), pts, bpts,
                                                                  "manual")}
  fit, learner = learner_loop(data, dtype)
  runs["Learner.fit, d['xx'] + d['yy']"] = fit
  if extra:
    runs["hand: nested jvp, batched tangents"] = hand_loop(make_model(dtype), pts, bpts,
                                                           "batched_jvp")
    runs["hand: per-point folx, vmapped"] = hand_loop(make_model(dtype), pts, bpts, "folx")
    runs["hand: per-point nested jvp, vmapped"] = hand_loop(make_model(dtype), pts, bpts, "jvp")
    runs["Learner.fit, derivatives='taylor'"] = learner_loop(data, dtype, "taylor")[0]
    runs["Learner.fit, derivatives='pointwise'"] = learner_loop(data, dtype, "pointwise")[0]
  rate = compare_alternating(runs, n_chunks, repeats, CHUNK, jnp.dtype(dtype).name)
  print(f"chunk compilations in the Learner: {learner.trace_counts.get('chunk')}")
  return rate


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--x64", action="store_true")
  parser.add_argument("--no-extra", action="store_true")
  args = parser.parse_args()
  if args.x64:
    jax.config.update("jax_enable_x64", True)
  main(args.steps, args.repeats, args.x64, not args.no_extra)
