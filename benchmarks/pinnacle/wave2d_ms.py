"""Wave2d-MS (PINNacle ``Wave2D_LongTime``): u_tt = u_xx + 2 u_yy on [0, 1]^2 x [0, 100];
u(x, y, 0) and u on the sides from the exact solution
sin(pi x) sinh(pi y) cos(pi t) + sinh(3 pi x) sin(2 pi y) cos(pi t), scored at 20000
points inside (as PINNacle, no initial velocity term).

That "exact solution" does not solve this PDE: each of its terms has
u_xx + 2 u_yy = -u_tt (for the first: -pi^2 + 2 pi^2 = pi^2 = -u_tt / u), so
it solves u_tt + u_xx + 2 u_yy = 0, and the wave equation's residual there is
2 u_tt (checked by finite differences). Every method's ~1.0 L2RE in
PINNacle's table follows. Kept as written (PINNacle's ``Wave2D_LongTime``).

vanilla: PINNacle's PINN at ``mul=4``. best, chosen from the statement
alone: inputs rescaled onto [-1, 1] (t reaches 100), causal weights over
time (``cb.CausalWeighting``), the side and initial terms balanced against the
PDE by ``cb.LRAnnealing`` (the data reach sinh(3 pi) ~ 6e3), fresh
collocation points every step.
"""

import jax.numpy as jnp
import numpy as np

import opifex_fit as of
import suite
from opifex_fit import callbacks as cb

NAME = "Wave2d-MS"
PAPER = suite.Paper(1.34, 9.82e-1, "vPINN")
MUL = 4
REFERENCE_FILE = None
BEST_TOOLS = "inputs on [-1, 1], CausalWeighting, LRAnnealing, Resample(every=1)"
BOUNDS = {"x": (0.0, 1.0), "y": (0.0, 1.0), "t": (0.0, 100.0)}
DOMAIN = of.Box(BOUNDS)


def exact(x, xp=np):
  x, y, t = x[..., 0], x[..., 1], x[..., 2]
  return (xp.sin(xp.pi * x) * xp.sinh(xp.pi * y) * xp.cos(xp.pi * t)
          + xp.sinh(3 * xp.pi * x) * xp.sin(2 * xp.pi * y) * xp.cos(xp.pi * t))


def wave(x, u, d):
  return d["tt"] - (d["xx"] + 2 * d["yy"])


def setup(config, points, seed, data_dir=None):
  given = lambda x: exact(x, jnp)
  problem = of.PDEProblem(wave, DOMAIN, [of.InitialCondition(given), of.DirichletBC(given)])
  data = suite.pinnacle_points(problem, points, MUL, seed=seed)
  if config == "vanilla":
    return suite.Setup(problem, data)
  return suite.Setup(problem, data, (cb.Resample(every=1), cb.CausalWeighting(n_chunks=32),
                                     cb.LRAnnealing(every=100)),
                     embedding=lambda rngs: suite.Rescale(BOUNDS.values()))


def reference(data_dir):
  return suite.exact_reference(DOMAIN, exact)
