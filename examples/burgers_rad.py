"""Burgers with few residual points: uniform vs RAD vs RAR-D (Wu et al. 2023, CMAME 403).

  u_t + u u_x = (0.01 / pi) u_xx,  x in [-1, 1], t in [0, 1],
  u(x, 0) = -sin(pi x),  u(-1, t) = u(1, t) = 0.

As in the paper's code (lu-group/pinn-sampling), the initial and boundary
conditions are hard constraints, ``u = -sin(pi x) + (1 - x^2) t N(x, t)``, so
the PDE residual is the only loss term. Three PINNs with the same 3 x 32 tanh
network, seed and step budget (Adam, then an L-BFGS polish on the final points):

* uniform: 2000 fixed uniform residual points;
* RAD (k=1, c=1): 2000 points, redrawn from the residual density every
  ``--every`` Adam steps (pool of ``--pool-size`` uniform candidates);
* RAR-D (k=2, c=0): starts from 1000 uniform points and adds points drawn
  from the residual density every ``--every`` Adam steps, reaching 2000 at
  the end of the Adam phase.

Each prints its relative L2 error against the exact Cole-Hopf solution on a
256 x 100 grid (``opifex_fit.problems.reference_solvers.burgers_sine``).
The defaults (12000 Adam steps with resampling every 2000, then 1000 L-BFGS
steps; three runs) take under 4 minutes on 2 CPU cores; the paper's budget is
far larger (15000 Adam steps, then 100 rounds of resampling, 1000 Adam steps and L-BFGS).

Run: ``python examples/burgers_rad.py [--adam-steps 12000 --lbfgs-steps 1000 --every 2000 --seeds 0 1]``
"""

import argparse
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.problems.reference_solvers import burgers_sine_grid

NU = 0.01 / np.pi
N_RESIDUAL = 2000


def burgers(x, u, d):
  return d["t"] + u * d["x"] - NU * d["xx"]


def problem():
  # The hard constraints of the paper's code (lu-group/pinn-sampling): u = -sin(pi x) at
  # t = 0 and u = 0 at x = +-1 for any network output, so the PDE residual is the only term.
  return of.PDEProblem(burgers, of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)}),
                       output_transform=lambda x, u: -jnp.sin(jnp.pi * x[0])
                       + (1 - x[0] ** 2) * x[1] * u)


def run(method, adam_steps, lbfgs_steps, every, seed, pool_size, verbose=0):
  """Trains one PINN; returns (relative L2 error, seconds, residual points at the end)."""
  pde = problem()
  n_start = N_RESIDUAL // 2 if method == "RAR-D" else N_RESIDUAL
  data = pde.sample(n_interior=n_start, seed=seed)
  model = of.models.MLP(2, [32, 32, 32, 1], activation="tanh", rngs=nnx.Rngs(seed))
  learner = of.Learner(model, pde, optax.adam(1e-3), seed=seed)
  if method == "RAD":
    callbacks = [cb.RAD(every=every, k=1.0, c=1.0, pool_size=pool_size)]
  elif method == "RAR-D":  # full at the end of the Adam phase
    n_add = -(-(N_RESIDUAL - n_start) // max(1, adam_steps // every))
    callbacks = [cb.RARD(every=every, k=2.0, c=0.0, n_add=n_add, capacity=N_RESIDUAL,
                         pool_size=pool_size, verbose=0)]
  else:
    callbacks = []
  start = time.perf_counter()
  # Adam with resampling (the last one at the end of the phase), then an L-BFGS
  # polish on the final points (the paper polishes after every resampling;
  # once here, to keep the CPU time small).
  learner.fit(data, steps=adam_steps, callbacks=callbacks, verbose=verbose)
  if lbfgs_steps:
    learner.fit(learner.data, steps=lbfgs_steps, verbose=verbose,
                callbacks=[cb.SwitchOptimizer(adam_steps, optax.lbfgs())])
  seconds = time.perf_counter() - start
  x, t, u = burgers_sine_grid(256, 100, NU)
  grid = np.stack(np.meshgrid(x, t, indexing="xy"), axis=-1).reshape(-1, 2)
  pred = np.asarray(learner.predict(jnp.asarray(grid, jnp.float32), batch_size=8192))
  pts = learner.data["pde"]
  n_end = int(np.sum(pts["mask"])) if isinstance(pts, dict) else pts.shape[0]
  return of.problems.reference.relative_l2(pred.reshape(-1), u.reshape(-1)), seconds, n_end


def main(adam_steps=12000, lbfgs_steps=1000, every=2000, seeds=(0,), pool_size=20_000, verbose=0):
  results = {}
  for method in ("uniform", "RAD", "RAR-D"):
    for seed in seeds:
      results[method, seed] = run(method, adam_steps, lbfgs_steps, every, seed, pool_size, verbose)
      err, sec, n = results[method, seed]
      print(f"{method:8s} seed {seed}: rel. L2 {err:.3e}  ({n} residual points, {sec:.0f} s)")
  print(f"\nrelative L2 error, mean over seeds {list(seeds)}, {adam_steps} Adam + {lbfgs_steps} L-BFGS steps")
  print("| method  | residual points | rel. L2 error |")
  print("|---------|-----------------|---------------|")
  for method in ("uniform", "RAD", "RAR-D"):
    errs = [results[method, s][0] for s in seeds]
    n = results[method, seeds[0]][2]
    print(f"| {method:7s} | {n:15d} | {np.mean(errs):.3e}     |")
  return {m: float(np.mean([results[m, s][0] for s in seeds])) for m in ("uniform", "RAD", "RAR-D")}


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--adam-steps", type=int, default=12000)
  parser.add_argument("--lbfgs-steps", type=int, default=1000)
  parser.add_argument("--every", type=int, default=2000)
  parser.add_argument("--seeds", type=int, nargs="+", default=[0])
  parser.add_argument("--pool-size", type=int, default=20_000)
  args = parser.parse_args()
  main(args.adam_steps, args.lbfgs_steps, args.every, tuple(args.seeds), args.pool_size)
