"""NS2d-C (PINNacle ``NS2D_LidDriven``): steady Navier-Stokes at Re = 100 in the unit
square, lid u = 4x(1-x), no-slip walls, p(0, 0) = 0; scored on u, v, p together at the
10201 nodes of ``lid_driven_a4.dat``.

The equations, conditions and reference are ``examples/lid_driven_cavity.py``'s,
reused. vanilla: its PINN with PINNacle's boundary split (the lid is a quarter
of the perimeter). best, chosen from the statement alone: the velocity
conditions imposed exactly, ``u = 4x(1-x) y + phi N_u``, ``v = phi N_v`` with
``phi = x(1-x)y(1-y)`` zero on the walls, so the only soft terms left are the
PDE and the pressure pin; fresh collocation points every step.
"""

import jax.numpy as jnp

import opifex_fit as of
import suite  # first: it puts examples/ on sys.path
import lid_driven_cavity as cavity
from opifex_fit import callbacks as cb

NAME = "NS2d-C"
PAPER = suite.Paper(4.70e-2, 3.60e-2, "LAAF")
MUL = 1
OUTPUTS = 3
REFERENCE_FILE = "lid_driven_a4.dat"
BEST_TOOLS = "exact no-slip/lid BC, Resample(every=1)"
SHARES = {"lid_u": 0.25, "lid_v": 0.25, "wall_u": 0.75, "wall_v": 0.75}


def exact_walls(x, u):
  phi = x[0] * (1 - x[0]) * x[1] * (1 - x[1])
  return jnp.stack([4 * x[0] * (1 - x[0]) * x[1] + phi * u[0], phi * u[1], u[2]])


def setup(config, points, seed, data_dir=None):
  if config == "vanilla":
    problem = cavity.problem()
    return suite.Setup(problem, suite.pinnacle_points(problem, points, MUL, SHARES, seed))
  pin = of.PointData([[0.0, 0.0]], [0.0], component=2, name="p_pin")
  problem = of.PDEProblem(cavity.navier_stokes, cavity.SQUARE, [pin], output_transform=exact_walls)
  return suite.Setup(problem, problem.sample(points, seed=seed), (cb.Resample(every=1),))


def reference(data_dir):
  return cavity.reference(data_dir)
