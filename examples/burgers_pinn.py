"""1-D viscous Burgers with a PINN (the benchmark of Raissi et al. 2019 / DeepXDE).

  u_t + u u_x = (0.01 / pi) u_xx,  x in [-1, 1], t in [0, 1],
  u(x, 0) = -sin(pi x),  u(-1, t) = u(1, t) = 0.

The reference is the exact Cole-Hopf solution on a 256 x 100 grid
(``opifex_fit.problems.reference_solvers.burgers_sine``, checked against
Basdevant et al.'s max |u_x| = 152.00516). Adam, then L-BFGS; prints the
relative L2 error over the grid.

Run: ``python examples/burgers_pinn.py [--adam-steps 15000 --lbfgs-steps 5000]``
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


def burgers(x, u, d):
  return d["t"] + u * d["x"] - NU * d["xx"]


def main(adam_steps=15000, lbfgs_steps=5000, logdir="runs/burgers", verbose=1):
  domain = of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)})
  problem = of.PDEProblem(burgers, domain, conditions=[
      of.DirichletBC(0.0), of.InitialCondition(lambda x: -jnp.sin(jnp.pi * x[0]))])
  # DeepXDE's setup: 2540 interior, 80 boundary, 160 initial points; 3 x 20 tanh.
  data = problem.sample(n_interior=2540, n_boundary=80, n_initial=160, method="sobol")
  model = of.models.MLP(2, [20, 20, 20, 1], activation="tanh", rngs=nnx.Rngs(0))
  learner = of.Learner(model, problem, optax.adam(1e-3))
  x, t, u = burgers_sine_grid(256, 100, NU)
  points = np.stack(np.meshgrid(x, t, indexing="xy"), axis=-1).reshape(-1, 2)
  reference = of.ReferenceSolution(points, u.reshape(-1), every=1000)
  callbacks = [cb.SwitchOptimizer(adam_steps, optax.lbfgs()), reference]
  if logdir:
    callbacks.append(cb.TensorBoard(logdir, every=1000))
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
  parser.add_argument("--adam-steps", type=int, default=15000)
  parser.add_argument("--lbfgs-steps", type=int, default=5000)
  parser.add_argument("--logdir", default="runs/burgers")
  args = parser.parse_args()
  main(args.adam_steps, args.lbfgs_steps, args.logdir)
