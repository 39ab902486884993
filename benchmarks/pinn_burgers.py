"""Burgers PINN with hard constraints: Learner.fit against a hand-written
batched ``jvp`` loop, same process.

Workload (Wu et al. 2023's Burgers set-up): u_t + u u_x = (0.01/pi) u_xx on
x in [-1, 1], t in [0, 1], hard initial/boundary conditions
u = -sin(pi x) + (1 - x^2) t N(x, t); MLP 2-64-64-64-1 tanh, Adam(1e-3),
2000 uniform residual points, full batch, 100 steps per ``lax.scan``.
Reference: the whole batch at once, ``jvp`` along t, and one nested ``jvp``
along x giving u, u_x and u_xx together (the fastest formulation we found
by hand). Runs alternate; reported: steps/s after compile (median), the
first chunk (compile included) and the ratio. Goal: Learner >= 0.95x.

Run: ``python benchmarks/pinn_burgers.py [--steps 1000] [--repeats 5] [--x64]``
"""

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of
from scanned_loop import compare_alternating, scanned_adam_loop

NU = 0.01 / jnp.pi
CHUNK = 100


def transform(x, n):
  return -jnp.sin(jnp.pi * x[..., 0]) + (1 - x[..., 0] ** 2) * x[..., 1] * n


def residual(x, u, d):
  return d["t"] + u * d["x"] - NU * d["xx"]


def make_model(dtype):
  return of.models.MLP(2, [64, 64, 64, 1], activation="tanh", rngs=nnx.Rngs(0),
                       **({} if dtype == jnp.float32 else {"param_dtype": dtype}))


def hand_loop(model, pts):
  graphdef, params = nnx.split(model, nnx.Param)
  e_x = jnp.broadcast_to(jnp.array([1.0, 0.0], pts.dtype), pts.shape)
  e_t = jnp.broadcast_to(jnp.array([0.0, 1.0], pts.dtype), pts.shape)

  def loss(p):
    net = nnx.merge(graphdef, p)
    u_fn = lambda y: transform(y, net(y)[:, 0])
    (u, u_x), (_, u_xx) = jax.jvp(lambda y: jax.jvp(u_fn, (y,), (e_x,)), (pts,), (e_x,))
    u_t = jax.jvp(u_fn, (pts,), (e_t,))[1]
    return jnp.mean((u_t + u * u_x - NU * u_xx) ** 2)

  return scanned_adam_loop(loss, params, CHUNK)


def learner_loop(data, dtype):
  problem = of.PDEProblem(residual, of.Box({"x": (-1, 1), "t": (0, 1)}),
                          output_transform=lambda x, n: transform(x, n))
  learner = of.Learner(make_model(dtype), problem, optax.adam(1e-3))

  def run(n_chunks):
    start = time.perf_counter()
    learner.fit(data, steps=n_chunks * CHUNK, verbose=0, steps_per_execution=CHUNK)
    jax.block_until_ready(learner.state.params)
    return time.perf_counter() - start
  return run, learner


def main(steps=1000, repeats=5, x64=False):
  dtype = jnp.float64 if x64 else jnp.float32
  problem = of.PDEProblem(residual, of.Box({"x": (-1, 1), "t": (0, 1)}))
  data = problem.sample(n_interior=2000, seed=0)
  n_chunks = max(1, steps // CHUNK)
  fit, learner = learner_loop(data, dtype)
  runs = {"hand: batched jvp (reference)": hand_loop(make_model(dtype),
                                                     jnp.asarray(data["pde"], dtype)),
          "Learner.fit, hard constraints": fit}
  rate = compare_alternating(runs, n_chunks, repeats, CHUNK, jnp.dtype(dtype).name)
  print(f"chunk compilations in the Learner: {learner.trace_counts.get('chunk')}")
  return rate


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--x64", action="store_true")
  args = parser.parse_args()
  if args.x64:
    jax.config.update("jax_enable_x64", True)
  main(args.steps, args.repeats, args.x64)
