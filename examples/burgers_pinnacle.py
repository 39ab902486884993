"""Burgers1d-C on PINNacle's budget (Hao et al. 2024, NeurIPS Datasets & Benchmarks).

  u_t + u u_x = (0.01 / pi) u_xx,  x in [-1, 1], t in [0, 1],
  u(x, 0) = -sin(pi x),  u(-1, t) = u(1, t) = 0.

PINNacle's protocol for this case: MLP 5 x 100 tanh, Adam (lr 1e-3) for
20000 steps, 8192 collocation points (plus initial and boundary points),
float32. Its table: vanilla PINN 1.45e-2 relative L2, best method 1.33e-2.
Two configurations on the same network, optimizer and step budget:

* vanilla: soft initial and boundary terms on fixed points (PINNacle's PINN);
* tools: what this library offers a user on top, all within the same Adam
  budget: the hard constraint ``u = -sin(pi x) + (1 - x^2) t N`` (no
  initial/boundary terms), fresh uniform collocation points at every step
  (``cb.Resample(every=1)``, jaxpi's practice) and an exponential
  learning-rate decay through ``optax.exponential_decay`` (jaxpi's schedule:
  x0.9 every 2000 steps).

The error is against the exact Cole-Hopf solution on a 256 x 100 grid
(PINNacle uses its own solver's grid; the solution is the same).

Measured (the defaults, PINNacle's whole budget; seed 0, 2 CPU cores shared
with two other runs)::

  | configuration | rel. L2  | PINNacle             | wall time |
  | tools         | 4.11e-03 | 1.33e-02 (best)      | 2449 s    |
  | vanilla       | 3.99e-02 | 1.45e-02 (vanilla)   | 2922 s    |

At a quarter of the budget (``--steps 5000 --points 4096``): tools 1.58e-2,
vanilla 6.03e-1.

Run: ``python examples/burgers_pinnacle.py [--steps 20000 --points 8192]``
(the defaults are PINNacle's budget; ``--steps 5000 --points 4096`` is a
shorter run).
"""

import argparse
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.problems.reference import relative_l2
from opifex_fit.problems.reference_solvers import burgers_sine_grid

NU = 0.01 / np.pi
PAPER = {"vanilla": 1.45e-2, "tools": 1.33e-2}  # PINNacle: vanilla PINN, best method
BOX = of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)})


def burgers(x, u, d):
  return d["t"] + u * d["x"] - NU * d["xx"]


def setup(config, points, seed):
  if config == "vanilla":
    problem = of.PDEProblem(burgers, BOX, [
        of.DirichletBC(0.0), of.InitialCondition(lambda x: -jnp.sin(jnp.pi * x[0]))])
    data = problem.sample(n_interior=points, n_boundary=points // 4, n_initial=points // 4,
                          seed=seed)
    return problem, data, optax.adam(1e-3), []
  problem = of.PDEProblem(burgers, BOX, output_transform=lambda x, u: -jnp.sin(jnp.pi * x[0])
                          + (1 - x[0] ** 2) * x[1] * u)
  schedule = optax.exponential_decay(1e-3, transition_steps=2000, decay_rate=0.9)
  return (problem, problem.sample(n_interior=points, seed=seed), optax.adam(schedule),
          [cb.Resample(every=1)])


def run(config, steps, points, seed):
  problem, data, optimizer, callbacks = setup(config, points, seed)
  model = of.models.MLP(2, [100] * 5 + [1], activation="tanh", rngs=nnx.Rngs(seed))
  learner = of.Learner(model, problem, optimizer, seed=seed)
  start = time.perf_counter()
  learner.fit(data, steps=steps, callbacks=callbacks, verbose=0)
  seconds = time.perf_counter() - start
  x, t, u = burgers_sine_grid(256, 100, NU)
  grid = np.stack(np.meshgrid(x, t, indexing="xy"), axis=-1).reshape(-1, 2)
  pred = np.asarray(learner.predict(jnp.asarray(grid, jnp.float32), batch_size=8192))
  return relative_l2(pred.reshape(-1), u.reshape(-1)), seconds


def main(steps=20000, points=8192, seed=0, configs=("vanilla", "tools")):
  results = {}
  for config in configs:
    results[config] = run(config, steps, points, seed)
    print(f"  {config:8s} rel. L2 {results[config][0]:.3e}  ({results[config][1]:.0f} s)", flush=True)
  print(f"\nPINNacle Burgers1d-C protocol: 5 x 100 tanh, Adam {steps} steps, {points} points, "
        f"float32 (PINNacle: 20000 steps, 8192 points)")
  print("| configuration | rel. L2 (ours) | PINNacle | wall time |")
  print("|---------------|----------------|----------|-----------|")
  for config, (err, sec) in results.items():
    print(f"| {config:13s} | {err:.2e}       | {PAPER[config]:.2e} | {sec:7.0f} s |")
  return {c: r[0] for c, r in results.items()}


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=20000)
  parser.add_argument("--points", type=int, default=8192)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--configs", nargs="+", default=["vanilla", "tools"])
  args = parser.parse_args()
  main(args.steps, args.points, args.seed, tuple(args.configs))
