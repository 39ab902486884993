"""A two-term problem whose per-term gradients can be written down by hand.

Model: one parameter vector ``w = (p, q)``. Data: scalar points per term,
``{"pde": z (n, 1), "bc": z (m, 1)}``; residuals and losses (mean of squares)::

  r_pde(z) = p z            L_pde = s0 p**2          dL_pde/dw = 2 s0 p (1, 0)
  r_bc(z)  = (q - 1) z      L_bc  = s1 (q - 1)**2    dL_bc/dw  = 2 s1 (q - 1) (0, 1)

with ``s0 = mean(z_pde**2)`` and ``s1 = mean(z_bc**2)``.
"""

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.problems.base import to_device_tree


class PQ(nnx.Module):
  def __init__(self, p=0.5, q=2.0):
    self.w = nnx.Param(jnp.asarray([p, q], jnp.float32))

  def __call__(self, x):
    return x * self.w[...][0]


class TwoTerms(of.Problem):
  def term_names(self):
    return ("pde", "bc")

  def prepare(self, model, data, argname="data"):
    return to_device_tree(data, argname)

  def num_examples(self, data):
    return None

  def pointwise_residuals(self, model, term, points):
    p, q = model.w[...][0], model.w[...][1]
    return (p if term == "pde" else q - 1) * points[:, 0]

  def loss_terms(self, model, data):
    return {t: jnp.mean(self.pointwise_residuals(model, t, data[t]) ** 2) for t in ("pde", "bc")}


def make_data(z_pde=(1.0, 2.0), z_bc=(1.0,)):
  return {"pde": np.asarray(z_pde, np.float32)[:, None], "bc": np.asarray(z_bc, np.float32)[:, None]}


def frozen_learner(p=0.5, q=2.0, optimizer=None):
  """A learner whose parameters never move (sgd with step 0) unless told otherwise."""
  return of.Learner(PQ(p, q), TwoTerms(), optimizer or optax.sgd(0.0))


def grads_by_hand(p, q, data):
  """(L, dL/dw) per term as numpy, from the formulas in the module docstring."""
  s0, s1 = np.mean(data["pde"] ** 2), np.mean(data["bc"] ** 2)
  losses = np.array([s0 * p ** 2, s1 * (q - 1) ** 2])
  grads = np.array([[2 * s0 * p, 0.0], [0.0, 2 * s1 * (q - 1)]])
  return losses, grads
