"""Problems with a planted residual for the RAD / RAR-D tests.

The planted PDE residual is 10 inside the corner ``x > 0.8, y > 0.8`` of the
unit square and 0 elsewhere, whatever the model: its measure is 0.04, so
``mean |residual| = 0.4`` and ``mean residual² = 4`` over the square.
"""

import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of

CORNER = 0.8
PLANTED = 10.0


def planted(x, u, d):
  return 0.0 * u + jnp.where((x[0] > CORNER) & (x[1] > CORNER), PLANTED, 0.0)


def in_corner(points):
  return (points[:, 0] > CORNER) & (points[:, 1] > CORNER)


def planted_learner(seed=0):
  problem = of.PDEProblem(planted, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)])
  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, problem, optax.adam(1e-3), seed=seed), problem
