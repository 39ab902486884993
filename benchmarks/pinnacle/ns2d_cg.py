"""NS2d-CG (PINNacle ``NS2D_BackStep``): steady Navier-Stokes at Re = 100 in the channel
[0, 4] x [0, 2] minus the step [0, 2] x [1, 2]; inflow u = 4y(1-y), v = 0 at x = 0, p = 0 at
x = 4, no slip elsewhere; scored on u, v, p together at the nodes of ``ns_0_obstacle.dat``.

vanilla: PINNacle's PINN; its 2048 boundary points are shared by the inlet
(length 1), the outlet (2) and the walls (9). best, chosen from the statement
alone: five soft terms of different sizes, balanced against the three PDE
residuals by ``cb.LRAnnealing``, and fresh collocation points every step.
"""

import os

import numpy as np

import opifex_fit as of
import suite  # first: it puts examples/ on sys.path
import lid_driven_cavity as cavity
from opifex_fit import callbacks as cb

NAME = "NS2d-CG"
PAPER = suite.Paper(1.19e-1, 8.24e-2, "LAAF")
MUL = 1
OUTPUTS = 3
REFERENCE_FILE = "ns_0_obstacle.dat"
BEST_TOOLS = "LRAnnealing, Resample(every=1)"
SHARES = {"in_u": 1 / 12, "in_v": 1 / 12, "out_p": 2 / 12, "wall_u": 9 / 12, "wall_v": 9 / 12}


def inlet(x):
  return np.isclose(x[:, 0], 0.0)


def outlet(x):
  return np.isclose(x[:, 0], 4.0)


def walls(x):
  return ~(inlet(x) | outlet(x))


def problem():
  channel = of.Box({"x": (0.0, 4.0), "y": (0.0, 2.0)}) - of.Box({"x": (-1e-5, 2.0),
                                                                   "y": (1.0, 2.0 + 1e-5)})
  return of.PDEProblem(cavity.navier_stokes, channel, [
      of.DirichletBC(lambda x: 4 * x[1] * (1 - x[1]), on=inlet, component=0, name="in_u"),
      of.DirichletBC(0.0, on=inlet, component=1, name="in_v"),
      of.DirichletBC(0.0, on=outlet, component=2, name="out_p"),
      of.DirichletBC(0.0, on=walls, component=0, name="wall_u"),
      of.DirichletBC(0.0, on=walls, component=1, name="wall_v")])


def setup(config, points, seed, data_dir=None):
  pde = problem()
  data = suite.pinnacle_points(pde, points, MUL, SHARES, seed)
  if config == "vanilla":
    return suite.Setup(pde, data)
  return suite.Setup(pde, data, (cb.Resample(every=1), cb.LRAnnealing(every=100)))


def reference(data_dir):
  table = of.datasets.read_comsol(os.path.join(data_dir, REFERENCE_FILE))
  return table.coordinates, table.fields  # u, v, p
