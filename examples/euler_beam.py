"""A fourth-order problem: the Euler-Bernoulli cantilever beam (DeepXDE's ``Euler_beam.py``).

``u'''' = -1`` on ``[0, 1]``, clamped at ``x = 0`` (``u = 0``, ``u' = 0``) and
free at ``x = 1`` (no moment ``u'' = 0``, no shear ``u''' = 0``). Exact
solution ``u = -x^4 / 24 + x^3 / 6 - x^2 / 4``.

The residual reads ``d["xxxx"]`` (one Taylor-mode pass on the whole batch);
the free end is two ``of.OperatorBC`` terms reading ``d["xx"]`` and
``d["xxx"]``; the clamp is a ``DirichletBC`` and a ``NeumannBC``.

DeepXDE's example: 3 x 20 tanh, Adam 1e-3 for 10000 iterations, 10 domain
and 2 boundary points, the error against the exact solution. We use the same
network and budget with 100 interior points, and print the relative L2 on
1000 points of ``[0, 1]``.

Measured (seed 0, defaults, 2 CPU cores shared with other runs): see the README.

Run: ``python examples/euler_beam.py [--steps 10000]``.
"""

import argparse
import time

import numpy as np
import optax
from flax import nnx

import opifex_fit as of

BEAM = of.Interval("x", 0.0, 1.0)


def exact(x):
  x = x[:, 0]
  return -(x**4) / 24 + x**3 / 6 - x**2 / 4


def problem():
  return of.PDEProblem(lambda x, u, d: d["xxxx"] + 1.0, BEAM, [
      of.DirichletBC(0.0, on="left", name="clamp_u"),
      of.NeumannBC(0.0, on="left", name="clamp_slope"),
      of.OperatorBC(lambda x, u, d: d["xx"], on="right", name="moment"),
      of.OperatorBC(lambda x, u, d: d["xxx"], on="right", name="shear")])


def main(steps=10000, points=100, seed=0, verbose=0):
  pde = problem()
  model = of.models.MLP(1, [20, 20, 20, 1], activation="tanh", rngs=nnx.Rngs(seed))
  learner = of.Learner(model, pde, optax.adam(1e-3), seed=seed)
  start = time.perf_counter()
  learner.fit(pde.sample(points, n_boundary=4, seed=seed), steps=steps, verbose=verbose)
  seconds = time.perf_counter() - start
  grid = np.linspace(0.0, 1.0, 1000)[:, None]
  error = pde.relative_l2(learner.model, exact, points=grid)
  print(f"Euler-Bernoulli beam u'''' = -1 (clamped-free): rel. L2 {error:.3e} against the exact"
        f" solution ({steps} Adam steps, {points} points, {seconds:.0f} s)")
  return error


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=10000)
  parser.add_argument("--points", type=int, default=100)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  main(args.steps, args.points, args.seed, verbose=1)
