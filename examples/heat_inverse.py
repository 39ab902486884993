"""Inverse heat problem: recover an unknown diffusivity from noisy observations.

  u_t = kappa u_xx on x in [0, 1], t in [0, 1],  u = 0 at x = 0, 1,
  u(x, 0) = sin(pi x);  exact u = exp(-kappa pi^2 t) sin(pi x), kappa = 0.1.

kappa is unknown: it is an ``nnx.Param`` on the model, read by the residual
through its 4th argument, and trained together with the network from 200
observations with 1% Gaussian noise. Prints the recovered kappa, its error
and the relative L2 error of the solution.

Run: ``python examples/heat_inverse.py [--adam-steps 6000 --lbfgs-steps 1000]``
"""

import argparse
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

KAPPA = 0.1


class HeatModel(nnx.Module):
  """The solution network plus the unknown diffusivity (initial guess 0.5)."""

  def __init__(self, rngs):
    self.net = of.models.MLP(2, [32, 32, 32, 1], activation="tanh", rngs=rngs)
    self.kappa = nnx.Param(jnp.array(0.5))

  def __call__(self, x):
    return self.net(x)


def heat(x, u, d, model):
  return d["t"] - model.kappa[...] * d["xx"]


def exact(p):
  return np.exp(-KAPPA * np.pi**2 * p[:, 1]) * np.sin(np.pi * p[:, 0])


def main(adam_steps=6000, lbfgs_steps=1000, verbose=1):
  domain = of.Box({"x": (0.0, 1.0), "t": (0.0, 1.0)})
  rng = np.random.default_rng(1)
  x_obs = domain.sample_interior(200, seed=rng)
  u_obs = exact(x_obs) * (1 + 0.01 * rng.standard_normal(200))
  problem = of.PDEProblem(heat, domain, conditions=[
      of.DirichletBC(0.0), of.InitialCondition(lambda x: jnp.sin(jnp.pi * x[0]))],
      observations=(x_obs, u_obs))
  learner = of.Learner(HeatModel(nnx.Rngs(0)), problem, optax.adam(1e-3))
  kappa_log = cb.LambdaCallback(every=500, on_step_end=lambda lr: lr.logs.update(
      kappa=float(lr.model.kappa[...])))   # logged before History (order 0 < 10)
  start = time.perf_counter()
  learner.fit(problem.sample(n_interior=1000, n_boundary=100, n_initial=100, method="sobol"),
              steps=adam_steps + lbfgs_steps, verbose=verbose,
              callbacks=[cb.SwitchOptimizer(adam_steps, optax.lbfgs()), kappa_log])
  seconds = time.perf_counter() - start
  kappa = float(learner.model.kappa[...])
  error = problem.relative_l2(learner.model, exact)
  print(f"{adam_steps} Adam + {lbfgs_steps} L-BFGS steps in {seconds:.1f} s; kappa = {kappa:.5f}"
        f" (true {KAPPA}, relative error {abs(kappa - KAPPA) / KAPPA:.2e});"
        f" solution relative L2 error {error:.2e}")
  return kappa, error


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--adam-steps", type=int, default=6000)
  parser.add_argument("--lbfgs-steps", type=int, default=1000)
  args = parser.parse_args()
  main(args.adam_steps, args.lbfgs_steps)
