"""HNd (PINNacle ``HeatND``): u_t = Lap u / 5 - |x|^2 exp(|x|^2 / 2 + t) / 5 on the unit ball
of R^5 times [0, 1], du/dn and u(x, 0) from the exact solution exp(|x|^2 / 2 + t), scored at
20000 points inside.

vanilla: PINNacle's PINN at ``mul=4`` (Neumann on the sphere, initial term).
best, chosen from the statement alone: the initial data imposed exactly,
``u = exp(|x|^2 / 2) + t N``; the Neumann term stays soft, balanced against
the PDE by ``cb.LRAnnealing``; fresh interior and sphere points every step.
"""

import jax.numpy as jnp
import numpy as np

import opifex_fit as of
import suite
from opifex_fit import callbacks as cb

NAME = "HNd"
PAPER = suite.Paper(3.61e-1, 1.19e-4, "LBFGS")
MUL = 4
REFERENCE_FILE = None
BEST_TOOLS = "hard IC, LRAnnealing, Resample(every=1) of PDE and BC points"
DIM = 5
DOMAIN = of.Ball((0.0,) * DIM, 1.0) * of.Interval("t", 0.0, 1.0)


def exact(x):
  return np.exp((x[:, :DIM] ** 2).sum(axis=1) / 2 + x[:, DIM])


def solution(x):
  return jnp.exp((x[:DIM] ** 2).sum() / 2 + x[DIM])


def heat(x, u, d):
  r2 = (x[:DIM] ** 2).sum()
  return d["laplacian"] / DIM - r2 * jnp.exp(r2 / 2 + x[DIM]) / DIM - d["t"]


def setup(config, points, seed, data_dir=None):
  if config == "vanilla":
    problem = of.PDEProblem(heat, DOMAIN, [of.NeumannBC(solution), of.InitialCondition(solution)])
    return suite.Setup(problem, suite.pinnacle_points(problem, points, MUL, seed=seed))
  problem = of.PDEProblem(heat, DOMAIN, [of.NeumannBC(solution)], output_transform=lambda x, u:
                          jnp.exp((x[:DIM] ** 2).sum() / 2) + x[DIM] * u)
  return suite.Setup(problem, suite.pinnacle_points(problem, points, MUL, seed=seed),
                     (cb.Resample(every=1, terms=("pde", "bc")), cb.LRAnnealing(every=100)))


def reference(data_dir):
  return suite.exact_reference(DOMAIN, exact)
