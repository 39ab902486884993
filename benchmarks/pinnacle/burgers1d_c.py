"""Burgers1d-C (PINNacle ``Burgers1D``): u_t + u u_x = (0.01/pi) u_xx on [-1, 1] x [0, 1],
u(x, 0) = -sin(pi x), u(+-1, t) = 0; scored on ``burgers1d.dat`` (COMSOL, 101 nodes x 11 times).

vanilla: PINNacle's PINN (soft initial and boundary terms, fixed points).
best: ``examples/burgers_pinnacle.py``'s "tools" configuration, reused: the
hard constraint ``u = -sin(pi x) + (1 - x^2) t N`` (the conditions are given,
so imposing them needs no knowledge of the solution), fresh collocation
points every step (``cb.Resample(every=1)``) and jaxpi's learning-rate decay
(x0.9 every 2000 steps). Chosen before any reference was read: it is the
configuration the example picked on the exact Cole-Hopf solution.
"""

import os


import suite  # first: it puts examples/ on sys.path
import burgers_pinnacle

NAME = "Burgers1d-C"
PAPER = suite.Paper(1.45e-2, 1.33e-2, "LBFGS")
MUL = 1
REFERENCE_FILE = "burgers1d.dat"
BEST_TOOLS = "hard IC/BC, Resample(every=1), exp. LR decay"
SHARES = {"bc": 1.0}  # the two ends of the interval, one condition


def setup(config, points, seed, data_dir=None):
  problem, data, optimizer, callbacks = burgers_pinnacle.setup(
      "vanilla" if config == "vanilla" else "tools", points, seed)
  if config == "vanilla":
    data = suite.pinnacle_points(problem, points, MUL, SHARES, seed)
  return suite.Setup(problem, data, tuple(callbacks), optimizer)


def reference(data_dir):
  return suite.comsol_space_time(os.path.join(data_dir, REFERENCE_FILE))
