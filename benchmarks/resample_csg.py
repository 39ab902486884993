"""Per-step resampling on a plate with holes against the same fit on the plain square.

Workload: Poisson ``u_xx + u_yy = -1`` with ``u = 0`` on every boundary part;
MLP 2-50-50-50-1 tanh, Adam(1e-3), 2000 interior and 400 boundary points,
``cb.Resample(every=1)`` on every term (fresh points drawn inside the jitted
step at each step). Two domains, everything else equal:

* the square ``[-1, 1]^2`` (exact device samplers: one uniform draw);
* the square minus four disks of radius 0.2 (PINNacle's Poisson2d-C layout,
  scaled): interior points by oversampling the bounding box with a fixed
  count and a fixed fallback pool, rim points by drawing on each piece.

Whole fits are timed as a user sees them (compile included) and again after
compile; runs alternate so load hits both alike. Goal: the plate <= 1.05x
the square's time per step.

Run: ``python benchmarks/resample_csg.py [--steps 2000] [--repeats 3]``
"""

import argparse
import statistics
import time

import jax
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

CENTRES = [(0.5, 0.5), (-0.5, 0.5), (0.5, -0.5), (-0.5, -0.5)]


def domains():
  square = of.Box({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, name="square")
  plate = square
  for c in CENTRES:
    plate = plate - of.Disk(c, 0.2, name="holes")
  return {"square": square, "plate with 4 holes": plate}


def learner_for(domain, seed=0):
  problem = of.PDEProblem(lambda x, u, d: d["xx"] + d["yy"] + 1.0, domain, [of.DirichletBC(0.0)])
  model = of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(seed))
  return of.Learner(model, problem, optax.adam(1e-3), seed=seed), problem.sample(2000, 400, seed=seed)


def timed_fit(learner, data, steps) -> float:
  start = time.perf_counter()
  learner.fit(data, steps=steps, verbose=0, callbacks=[cb.Resample(every=1, terms=["pde", "bc"])])
  jax.block_until_ready(learner.state.params)
  return time.perf_counter() - start


def main(steps=2000, repeats=3):
  runs = {name: learner_for(domain) for name, domain in domains().items()}
  first = {name: timed_fit(learner, data, steps) for name, (learner, data) in runs.items()}
  again = {name: [] for name in runs}
  for _ in range(repeats):
    for name, (learner, data) in runs.items():
      again[name].append(timed_fit(learner, data, steps))
  per_step = {name: statistics.median(t) / steps for name, t in again.items()}
  ref = per_step["square"]
  print(f"device: {jax.devices()[0].device_kind}; Resample(every=1) on pde + bc, {steps} steps"
        f" per fit, {repeats} alternating repeats after the first fit")
  print(f"{'domain':20s} {'first fit (s)':>14s} {'ms/step':>9s} {'ratio':>7s}")
  for name in runs:
    print(f"{name:20s} {first[name]:14.2f} {1e3 * per_step[name]:9.3f} {per_step[name] / ref:7.3f}")
  return {name: per_step[name] / ref for name in runs}


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  main(args.steps, args.repeats)
