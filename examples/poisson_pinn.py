"""The seed problem: 2-D Poisson with a PINN, Adam then L-BFGS.

  -Delta u = 2 pi^2 sin(pi x) sin(pi y) on (0, 1)^2,  u = 0 on the boundary,
  exact solution u = sin(pi x) sin(pi y).

Run: ``python examples/poisson_pinn.py`` (TensorBoard logs in runs/poisson;
with matplotlib installed, ``pip install -e ".[plots]"``, also the solution,
reference, error and residual maps and the loss curves, as TensorBoard images
and as PNGs in runs/poisson/plots, redrawn every 1000 steps).
Prints the relative L2 error on a 101 x 101 grid; the target is <= 1e-3.
"""

import argparse
import importlib.util
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


def poisson(x, u, d):
  # Written with the two second derivatives: it costs exactly one forward Laplacian.
  return d["xx"] + d["yy"] + 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def exact(p):
  return np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])


def main(adam_steps=3000, lbfgs_steps=2000, logdir="runs/poisson", verbose=1):
  domain = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})
  problem = of.PDEProblem(poisson, domain, conditions=[of.DirichletBC(0.0)],
                          weights={"pde": 1.0, "bc": 10.0})
  model = of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))
  learner = of.Learner(model, problem, optax.adam(1e-3))
  data = problem.sample(n_interior=2000, n_boundary=400, method="sobol")
  reference = of.ReferenceSolution.from_function(
      exact, of.problems.reference.grid(domain, 101), every=500)
  callbacks = [cb.SwitchOptimizer(adam_steps, optax.lbfgs()), reference]
  if logdir:
    callbacks.append(cb.TensorBoard(logdir, every=500))
    if importlib.util.find_spec("matplotlib") is not None:  # the optional plots extra
      plots = f"{logdir}/plots"
      callbacks += [cb.PlotSolution(plots, grid=101, reference=exact, every=1000),
                    cb.PlotHistory(plots, every=1000)]
  start = time.perf_counter()
  history = learner.fit(data, steps=adam_steps + lbfgs_steps, callbacks=callbacks,
                        verbose=verbose)
  seconds = time.perf_counter() - start
  error = reference.error(learner)
  print(f"Adam {adam_steps} + L-BFGS {lbfgs_steps} steps in {seconds:.1f} s;"
        f" final loss {history['loss'][-1]:.3e}; relative L2 error {error:.2e}"
        f" (after Adam: {history['rel_l2'][history.steps.index(adam_steps)]:.2e})")
  return error


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--adam-steps", type=int, default=3000)
  parser.add_argument("--lbfgs-steps", type=int, default=2000)
  parser.add_argument("--logdir", default="runs/poisson")
  args = parser.parse_args()
  main(args.adam_steps, args.lbfgs_steps, args.logdir)
