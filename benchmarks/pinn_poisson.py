"""Seed Poisson PINN: Learner.fit against a hand-written JAX loop, same process.

Both train the same MLP 2-50-50-50-1 (tanh) with Adam(1e-3) on the same 2000
interior and 400 boundary points, 100 steps per ``lax.scan``. The hand loop
computes the Laplacian with folx's forward Laplacian, batched with vmap; the
Learner's residual is written ``d["xx"] + d["yy"]``. Runs alternate so load
on the machine hits both alike; the ratio of median times is printed (goal
<= 1.05). Nested jvp (forward-over-forward per coordinate) is timed too.

Run: ``python benchmarks/pinn_poisson.py [--steps 500] [--repeats 5]``
"""

import argparse
import statistics
import time

import folx
import jax
import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of

PI = jnp.pi
CHUNK = 100


def source(x):
  return 2 * PI**2 * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def residual(x, u, d):
  return d["xx"] + d["yy"] + source(x)


def make_model():
  return of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))


def hand_loop(model, pts, bpts, laplacian: str):
  """A plain JAX PINN loop: returns ``run(n_chunks) -> seconds``."""
  graphdef, params = nnx.split(model, nnx.Param)
  opt = optax.adam(1e-3)

  def lap_fn(u, x):
    if laplacian == "folx":
      return folx.forward_laplacian(u, disable_jit=True)(x).laplacian
    eye = jnp.eye(2)
    second = lambda e: jax.jvp(lambda y: jax.jvp(u, (y,), (e,))[1], (x,), (e,))[1]
    return second(eye[0]) + second(eye[1])

  def loss(p):
    net = nnx.merge(graphdef, p)
    u = lambda x: net(x[None])[0, 0]
    r = jax.vmap(lambda x: lap_fn(u, x) + source(x))(pts)
    bc = jax.vmap(u)(bpts)
    return jnp.mean(r**2) + 10.0 * jnp.mean(bc**2)

  def step(carry, _):
    p, s = carry
    value, g = jax.value_and_grad(loss)(p)
    updates, s = opt.update(g, s, p)
    return (optax.apply_updates(p, updates), s), value

  @jax.jit
  def chunk(p, s):
    (p, s), values = jax.lax.scan(step, (p, s), None, length=CHUNK)
    return p, s, values[-1]

  state = {"p": params, "s": opt.init(params)}

  def run(n_chunks):
    start = time.perf_counter()
    for _ in range(n_chunks):
      state["p"], state["s"], value = chunk(state["p"], state["s"])
    value.block_until_ready()
    return time.perf_counter() - start
  return run


def learner_loop(data):
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)], weights={"bc": 10.0})
  learner = of.Learner(make_model(), problem, optax.adam(1e-3))

  def run(n_chunks):
    start = time.perf_counter()
    learner.fit(data, steps=n_chunks * CHUNK, verbose=0, steps_per_execution=CHUNK)
    jax.block_until_ready(learner.state.params)
    return time.perf_counter() - start
  return run, learner


def main(steps=500, repeats=5, nested=True):
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}), [of.DirichletBC(0.0)])
  data = problem.sample(n_interior=2000, n_boundary=400, seed=0)
  pts, bpts = (jnp.asarray(data[k], jnp.float32) for k in ("pde", "bc"))
  n_chunks = max(1, steps // CHUNK)
  hand = hand_loop(make_model(), pts, bpts, "folx")
  fit, learner = learner_loop(data)
  hand(1), fit(1)  # compile both
  times = {"hand": [], "learner": []}
  for _ in range(repeats):
    times["hand"].append(hand(n_chunks))
    times["learner"].append(fit(n_chunks))
  med = {k: statistics.median(v) for k, v in times.items()}
  n = n_chunks * CHUNK
  print(f"device: {jax.devices()[0].device_kind}; {n} steps per run, {repeats} alternating runs")
  print(f"hand-written folx loop : {n / med['hand']:7.1f} steps/s")
  print(f"Learner.fit (d['xx']+d['yy']): {n / med['learner']:7.1f} steps/s")
  print(f"ratio Learner / hand (median time): {med['learner'] / med['hand']:.3f}"
        f"  (best-of: {min(times['learner']) / min(times['hand']):.3f}); goal <= 1.05")
  print(f"chunk compilations in the Learner: {learner.trace_counts.get('chunk')}")
  if nested:
    jvp = hand_loop(make_model(), pts, bpts, "nested_jvp")
    jvp(1)
    t = statistics.median(jvp(n_chunks) for _ in range(max(1, repeats // 2)))
    print(f"hand-written nested-jvp loop: {n / t:7.1f} steps/s")


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=500)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--no-nested", action="store_true")
  args = parser.parse_args()
  main(args.steps, args.repeats, not args.no_nested)
