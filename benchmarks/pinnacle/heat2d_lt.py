"""Heat2d-LT (PINNacle ``Heat2D_LongTime``): u_t = 0.001 Lap u + 5 sin(u^2) (1 + 2 sin(pi t / 4))
sin(4 pi x) sin(2 pi y) on [0, 1]^2 x [0, 100], u(x, y, 0) = sin(4 pi x) sin(3 pi y), u = 0 on
the sides; scored on ``heat_longtime.dat`` (COMSOL, every node at every saved time).

vanilla: PINNacle's PINN at ``mul=4``. best, chosen from the statement alone:
a long time window calls for causality (``cb.CausalWeighting``, early times
first) and for inputs rescaled onto [-1, 1] (t reaches 100: raw, the tanh
units saturate); the initial and side data imposed exactly,
``u = u0 + (t / 100) 16 x(1-x) y(1-y) N``; fresh points every step.
"""

import os

import jax.numpy as jnp

import opifex_fit as of
import suite
from opifex_fit import callbacks as cb

NAME = "Heat2d-LT"
PAPER = suite.Paper(9.99e-1, 9.99e-1, "all fail")
MUL = 4
REFERENCE_FILE = "heat_longtime.dat"
BEST_TOOLS = "hard IC/BC, inputs on [-1, 1], CausalWeighting, Resample(every=1)"
BOUNDS = {"x": (0.0, 1.0), "y": (0.0, 1.0), "t": (0.0, 100.0)}
DOMAIN = of.Box(BOUNDS)


def initial(x):
  return jnp.sin(4 * jnp.pi * x[0]) * jnp.sin(3 * jnp.pi * x[1])


def heat(x, u, d):
  source = 5 * jnp.sin(u ** 2) * (1 + 2 * jnp.sin(x[2] * jnp.pi / 4))
  return d["t"] - 0.001 * (d["xx"] + d["yy"]) - source * jnp.sin(4 * jnp.pi * x[0]) * jnp.sin(
      2 * jnp.pi * x[1])


def setup(config, points, seed, data_dir=None):
  if config == "vanilla":
    problem = of.PDEProblem(heat, DOMAIN, [of.InitialCondition(initial), of.DirichletBC(0.0)])
    return suite.Setup(problem, suite.pinnacle_points(problem, points, MUL, seed=seed))
  bubble = lambda x: 16 * x[0] * (1 - x[0]) * x[1] * (1 - x[1])
  problem = of.PDEProblem(heat, DOMAIN, output_transform=lambda x, u: initial(x)
                          + x[2] / 100 * bubble(x) * u)
  return suite.Setup(problem, problem.sample(points * MUL, seed=seed),
                     (cb.Resample(every=1), cb.CausalWeighting(n_chunks=32, eps=1.0)),
                     embedding=lambda rngs: suite.Rescale(BOUNDS.values()))


def reference(data_dir):
  return suite.comsol_space_time(os.path.join(data_dir, REFERENCE_FILE))
