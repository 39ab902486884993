"""HInv (PINNacle ``HeatInv``): recover a(x, y) in u_t = div(a grad u) + f on [-1, 1]^2 x
[0, 1] from 2500 observations of u (the points of ``heatinv_points.dat``, N(0, 0.1^2)
noise), a given on the sides; u = exp(-t) sin(pi x) sin(pi y), a = 2 + sin(pi x) sin(pi y);
scored on u and a together at 20000 points inside.

vanilla: PINNacle's PINN at ``mul=4`` (one 5 x 100 network for u and a).
best, chosen from the statement alone: the data, boundary and PDE terms
balanced by ``cb.LRAnnealing``, fresh collocation points every step.
"""

import os

import jax.numpy as jnp
import numpy as np

import opifex_fit as of
import suite

NAME = "HInv"
PAPER = suite.Paper(1.57, 1.19e-2, "vPINN")
MUL = 4
OUTPUTS = 2
REFERENCE_FILE = "heatinv_points.dat"  # the observation points; the reference is exact
BEST_TOOLS = "LRAnnealing, Resample(every=1)"
DOMAIN = of.Box({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}) * of.Interval("t", 0.0, 1.0)


def u_exact(x, xp=np):
  return xp.exp(-x[..., 2]) * xp.sin(xp.pi * x[..., 0]) * xp.sin(xp.pi * x[..., 1])


def a_exact(x, xp=np):
  return 2 + xp.sin(xp.pi * x[..., 0]) * xp.sin(xp.pi * x[..., 1])


def residual(x, u, d):
  s, c = jnp.sin(jnp.pi * x[:2]), jnp.cos(jnp.pi * x[:2])
  f = jnp.exp(-x[2]) * ((4 * jnp.pi ** 2 - 1) * s[0] * s[1] + jnp.pi ** 2 * (
      2 * s[0] ** 2 * s[1] ** 2 - c[0] ** 2 * s[1] ** 2 - s[0] ** 2 * c[1] ** 2))
  div = d["x"][1] * d["x"][0] + d["y"][1] * d["y"][0] + u[1] * (d["xx"][0] + d["yy"][0])
  return d["t"][0] - div - f


def setup(config, points, seed, data_dir=None):
  sensors = np.loadtxt(os.path.join(data_dir, REFERENCE_FILE), ndmin=2)
  return suite.inverse_setup(config, residual, DOMAIN, sensors, u_exact, a_exact, points, MUL, seed)


def reference(data_dir):
  return suite.exact_reference(DOMAIN, lambda x: np.stack([u_exact(x), a_exact(x)], -1))
