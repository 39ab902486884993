"""Poisson2d-C (PINNacle ``Poisson2D_Classic``): Laplace's equation on [-0.5, 0.5]^2 minus
four disks of radius 0.1 at (+-0.3, +-0.3); u = 1 on the square, 0 on the rims; scored on
``poisson1_cg_data.dat`` (1246 COMSOL nodes).

The case is ``examples/poisson_holes.py``, reused. vanilla: its PINN, with
PINNacle's boundary split (2048 points over the whole boundary: the square's
perimeter 4 and the rims' 0.8 pi share them, 61% / 39%). best: its "exact BC"
configuration (the boundary data imposed with the plate's distance functions
and a transfinite blend, ``cb.Resample(every=1)``), chosen from the problem
statement alone: with exact boundary values the only loss left is the PDE's.
"""

import os


import opifex_fit as of
import suite  # first: it puts examples/ on sys.path
import poisson_holes

NAME = "Poisson2d-C"
PAPER = suite.Paper(6.94e-1, 1.23e-2, "NTK")
MUL = 1
REFERENCE_FILE = "poisson1_cg_data.dat"
BEST_TOOLS = "exact BC (distance functions), Resample(every=1)"
SQUARE, RIMS = 4.0, 0.8 * 3.141592653589793
SHARES = {"square": SQUARE / (SQUARE + RIMS), "holes": RIMS / (SQUARE + RIMS)}


def setup(config, points, seed, data_dir=None):
  problem, data, callbacks = poisson_holes.setup(
      "vanilla" if config == "vanilla" else "exact BC", points, seed)
  if config == "vanilla":
    data = suite.pinnacle_points(problem, points, MUL, SHARES, seed)
  return suite.Setup(problem, data, tuple(callbacks))


def reference(data_dir):
  table = of.datasets.read_comsol(os.path.join(data_dir, REFERENCE_FILE))
  return table.coordinates, table.field("u")
