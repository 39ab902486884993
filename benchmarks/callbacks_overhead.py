"""The cost of the full callback set on the seed Poisson PINN.

Workload: -Delta u = 2 pi^2 sin(pi x) sin(pi y) on (0, 1)^2, u = 0 on the
boundary; MLP 2-50-50-50-1 tanh, Adam 1e-3, 2000 interior + 400 boundary
points, full batch. Two learners, alternated in one process, each warmed up
first (compilation excluded), median of the repeats:

  bare:  learner.fit(data, steps=S, verbose=0)
  full:  the same with TensorBoard(every=100), Checkpoint(every=1000, async),
         EarlyStopping(monitor="loss", every=100), LossExplosionRecovery(),
         GradNorm(every=100), RAD(every=1000) (chunks of 100 steps, a host
         sync and a state snapshot at each; on_fit_end waits for the last
         asynchronous checkpoint)
  stats: the same with the in-chunk collectors GradientStats(every=100,
         per_layer=True) and ResidualStats(every=100) (History records them
         at each boundary of 100 steps)

  python benchmarks/callbacks_overhead.py [--steps 2000] [--repeats 3]

Goals: full / bare <= 1.10; stats / bare <= 1.05.
"""

import argparse
import statistics
import tempfile
import time

import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


def poisson(x, u, d):
  return d["xx"] + d["yy"] + 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def make_learner():
  problem = of.PDEProblem(poisson, of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)}),
                          conditions=[of.DirichletBC(0.0)], weights={"pde": 1.0, "bc": 10.0})
  model = of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))
  learner = of.Learner(model, problem, optax.adam(1e-3))
  return learner, problem.sample(n_interior=2000, n_boundary=400, seed=0)


def full_callbacks(root):
  return [cb.Checkpoint(f"{root}/ckpt", every=1000, max_to_keep=2, verbose=0),
          cb.EarlyStopping(monitor="loss", patience=10**6, every=100),
          cb.LossExplosionRecovery(), cb.GradNorm(every=100), cb.RAD(every=1000),
          cb.TensorBoard(f"{root}/tb", every=100)]


def main(steps=2000, repeats=3):
  root = tempfile.mkdtemp(prefix="opifex_bench_")
  bare, data = make_learner()
  full, _ = make_learner()
  stats, _ = make_learner()
  callbacks = full_callbacks(root)
  collectors = [cb.GradientStats(every=100, per_layer=True), cb.ResidualStats(every=100)]
  runs = {"bare": lambda: bare.fit(data, steps=steps, verbose=0),
          "full": lambda: full.fit(data, steps=steps, verbose=0, callbacks=callbacks),
          "stats": lambda: stats.fit(data, steps=steps, verbose=0, callbacks=collectors)}
  for run in runs.values():  # compile
    run()
  times = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      start = time.perf_counter()
      run()
      times[name].append(time.perf_counter() - start)
  median = {name: statistics.median(t) for name, t in times.items()}
  for name, t in median.items():
    print(f"{name:5s} {steps / t:8.1f} steps/s  ({t:.2f} s per {steps} steps; all: "
          + ", ".join(f"{x:.2f}" for x in times[name]) + ")")
  print(f"callbacks: {[type(c).__name__ for c in callbacks]}")
  print(f"ratio full / bare: {median['full'] / median['bare']:.3f}  (goal <= 1.10)")
  print(f"ratio stats / bare: {median['stats'] / median['bare']:.3f}  (goal <= 1.05)")
  return median["full"] / median["bare"]


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  main(args.steps, args.repeats)
