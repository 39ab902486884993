"""Multilevel (coarse-to-fine) training against the finest model from the start.

1-D Poisson with a PINN, a two-scale solution:

  -u'' = f on (0, 1),  u(0) = u(1) = 0,  exact u = sin(pi x) + 0.1 sin(K pi x), K = 16.

Both runs train a tanh MLP with Adam on the same 2048 collocation points and
stop at the first check (every 100 steps) where the relative L2 error on a
1001-point grid is <= ``target``:

* finest: MLP 1-64-64-1 from step 0;
* multilevel: MLP 1-16-16-1, grown x2 in width at ``levels`` (function
  preserving, fresh Adam state at each switch), 1-64-64-1 at the end.

Prints, for each of 3 seeds, the wall time to the target (compilations
included: the multilevel run compiles once per level, ~2 s each here), the
steps and the final error, whichever way the comparison goes. A run that
misses the target within ``steps`` is reported as such.

Measured on 2 shared CPU cores (times vary with the load; the steps do not):
target 1e-3: finest 5200 steps / missed / missed (12000 steps), multilevel
3700 / 8200 / 6800 steps; time ratios 0.98, <0.83, <0.66. Target 1e-2
(seed 0): finest 500 steps in 4.7 s, multilevel 3100 steps in 11.7 s, 2.5x
slower: the small levels never reach the target and three compilations cost
more than the whole finest run.

  python examples/multilevel_poisson.py                  # ~2 min on 2 CPU cores
  python examples/multilevel_poisson.py --target 1e-2 --seeds 0
"""

import argparse
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


K = 16  # the fine scale


def exact(p):
  x = p[:, 0]
  return np.sin(np.pi * x) + 0.1 * np.sin(K * np.pi * x)


def residual(x, u, d):
  s = x[0]
  f = np.pi**2 * jnp.sin(np.pi * s) + 0.1 * (K * np.pi) ** 2 * jnp.sin(K * np.pi * s)
  return d["xx"] + f


class TimeToTarget(cb.Callback):
  """Stops the fit at the first check where ``logs[name] <= target``; records when."""

  order = cb.ReferenceSolution.order + 1  # right after the error is logged

  def __init__(self, target, every, name="rel_l2"):
    self.target, self.every, self.name = target, every, name
    self.start, self.seconds, self.step = None, None, None

  def on_fit_begin(self, learner):
    self.start = time.perf_counter()

  def on_step_end(self, learner):
    if self.seconds is None and learner.logs[self.name] <= self.target:
      self.seconds, self.step = time.perf_counter() - self.start, learner.step
      learner.stop_training = True


def run(features, multilevel, *, steps, target, check_every, n_points, seed, verbose):
  domain = of.Interval("x", 0.0, 1.0)
  problem = of.PDEProblem(residual, domain, conditions=[of.DirichletBC(0.0)],
                          weights={"pde": 1.0, "bc": 100.0})
  model = of.models.MLP(1, features, activation="tanh", rngs=nnx.Rngs(seed))
  learner = of.Learner(model, problem, optax.adam(2e-3), seed=seed)
  data = problem.sample(n_interior=n_points, n_boundary=2, seed=seed)
  grid = np.linspace(0, 1, 1001, dtype=np.float32)[:, None]
  reference = cb.ReferenceSolution.from_function(exact, grid, every=check_every)
  clock = TimeToTarget(target, check_every)
  callbacks = [reference, clock] + ([multilevel] if multilevel else [])
  start = time.perf_counter()
  learner.fit(data, steps=steps, callbacks=callbacks, verbose=verbose)
  total = time.perf_counter() - start
  return {"seconds": clock.seconds, "steps": clock.step, "total_seconds": total,
          "total_steps": learner.step, "error": reference.error(learner),
          "widths": [layer.out_features for layer in learner.model.layers],
          "compiles": learner.trace_counts["chunk"]}


def report(name, r, target) -> str:
  reached = (f"reached {target:.0e} in {r['seconds']:.1f} s, {r['steps']} steps"
             if r["seconds"] is not None else
             f"did NOT reach {target:.0e} in {r['total_steps']} steps ({r['total_seconds']:.1f} s)")
  return (f"{name:>10}: {reached}; final relative L2 {r['error']:.2e}; widths {r['widths']}; "
          f"{r['compiles']} compilation(s)")


def ratio(multi, finest) -> tuple[float, str]:
  """Multilevel time / finest time to the target; a run that missed it counts
  with its whole time (then the ratio is a bound: ``<`` or ``>``)."""
  a, b = multi["seconds"], finest["seconds"]
  if a is not None and b is not None:
    return a / b, f"{a / b:.2f}"
  value = (a or multi["total_seconds"]) / (b or finest["total_seconds"])
  if a is None and b is None:
    return value, f"{value:.2f} (neither reached it)"
  return value, f"{'<' if b is None else '>'}{value:.2f}"


def main(steps=12_000, target=1e-3, levels=(1000, 3000), check_every=100, n_points=2048,
         seeds=(0, 1, 2), verbose=0):
  """Both runs for each seed; returns ``{seed: {"finest": ..., "multilevel": ...}}`` and
  prints the ratio of the times to target (multilevel / finest; < 1: multilevel faster)."""
  results, ratios = {}, []
  for seed in seeds:
    kw = dict(steps=steps, target=target, check_every=check_every, n_points=n_points, seed=seed,
              verbose=verbose)
    results[seed] = {"finest": run([64, 64, 1], None, **kw),
                     "multilevel": run([16, 16, 1], cb.Multilevel(list(levels), width_factor=2),
                                       **kw)}
    print(f"seed {seed}")
    for name, r in results[seed].items():
      print(report(name, r, target))
    ratios.append(ratio(results[seed]["multilevel"], results[seed]["finest"]))
  print("time to target, multilevel / finest from the start: "
        f"{', '.join(text for _, text in ratios)} (median {np.median([r for r, _ in ratios]):.2f};"
        f" multilevel faster for {sum(r < 1 for r, _ in ratios)} of {len(ratios)} seeds; a run "
        "that missed the target counts with its whole time, as a bound)")
  return results


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=12_000)
  parser.add_argument("--target", type=float, default=1e-3)
  parser.add_argument("--levels", type=int, nargs="+", default=[1000, 3000])
  parser.add_argument("--points", type=int, default=2048)
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  args = parser.parse_args()
  main(args.steps, args.target, tuple(args.levels), n_points=args.points, seeds=tuple(args.seeds))
