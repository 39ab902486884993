"""A domain known only by points: PINNacle's mesh nodes, a Neumann problem, an exact solution.

The domain is an ``of.PointCloud`` built from the node coordinates of a
reference file (PINNacle's ``poisson1_cg_data.dat``: 1246 COMSOL nodes on the
square ``[-0.5, 0.5]^2`` minus four disks of radius 0.1). Nothing else is
known about the shape, as with an imported mesh: the nodes on the outer
square and on the four rims are the boundary points, with their outward unit
normals (into a hole on a rim); the other nodes are the interior points.

The problem is manufactured so that the error is exact:
``u_xx + u_yy = -2 pi^2 u*`` with ``u* = sin(pi x) cos(pi y)``, a pure
Neumann condition ``du/dn = grad u* . n`` on the whole boundary
(``of.NeumannBC`` with the cloud's stored normals), and, since a Neumann
problem fixes ``u`` only up to a constant, the value of ``u*`` pinned at one
node with ``of.PointData`` (as NS2d-C pins the pressure). The error is the
relative L2 against ``u*`` at every node.

Measured (seed 0, defaults, 2 CPU cores shared with other runs): see the README.

Run: ``python examples/point_cloud_neumann.py PINNACLE_REF_DIR [--steps 5000]``.
"""

import argparse
import os
import time

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.problems.reference import relative_l2

CENTRES = np.array([(0.3, 0.3), (-0.3, 0.3), (0.3, -0.3), (-0.3, -0.3)])
RADIUS, HALF = 0.1, 0.5


def exact(x):
  return np.sin(np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1])


def cloud_from_nodes(nodes, atol=1e-6):
  """The nodes split into interior and boundary, with outward normals at the latter."""
  to_centre = nodes[:, None, :] - CENTRES[None]
  rim_dist = np.abs(np.linalg.norm(to_centre, axis=-1) - RADIUS)
  on_rim = rim_dist.min(axis=1) < atol
  on_edge = np.abs(nodes).max(axis=1) > HALF - atol
  normals = np.zeros_like(nodes)
  side = np.argmax(np.abs(nodes), axis=1)                # the edge a square node lies on
  normals[np.arange(len(nodes)), side] = np.sign(nodes[np.arange(len(nodes)), side])
  nearest = to_centre[np.arange(len(nodes)), rim_dist.argmin(axis=1)]
  normals = np.where(on_rim[:, None], -nearest / RADIUS, normals)  # into the hole
  boundary = on_rim | on_edge
  return of.PointCloud(nodes[~boundary], boundary=nodes[boundary], normals=normals[boundary],
                       names=("x", "y"), name="walls")


def problem(cloud, pin):
  def poisson(x, u, d):
    return d["xx"] + d["yy"] + 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.cos(jnp.pi * x[1])

  def flux(x):
    grad = jnp.pi * jnp.stack([jnp.cos(jnp.pi * x[0]) * jnp.cos(jnp.pi * x[1]),
                               -jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])])
    return grad @ cloud.normals(x)
  return of.PDEProblem(poisson, cloud, [of.NeumannBC(flux, on="walls"),
                                        of.PointData(pin, exact(pin), name="pin")])


def main(data_dir, steps=5000, seed=0, verbose=0):
  nodes = of.datasets.read_comsol(os.path.join(data_dir, "poisson1_cg_data.dat")).coordinates
  cloud = cloud_from_nodes(nodes)
  pde = problem(cloud, cloud.interior[:1])
  n_in, n_b = len(cloud.interior), len(cloud.boundary)
  model = of.models.MLP(2, [64, 64, 64, 1], activation="tanh", rngs=nnx.Rngs(seed))
  schedule = optax.exponential_decay(1e-3, transition_steps=1000, decay_rate=0.7)
  learner = of.Learner(model, pde, optax.adam(schedule), seed=seed)
  start = time.perf_counter()
  learner.fit(pde.sample(n_in, n_boundary=n_b, seed=seed), steps=steps, verbose=verbose)
  seconds = time.perf_counter() - start
  pred = learner.predict(jnp.asarray(nodes, jnp.float32))
  error = relative_l2(pred, exact(nodes))
  print(f"PointCloud of {len(nodes)} COMSOL nodes ({n_in} interior, {n_b} boundary), pure Neumann +"
        f" one pinned node: rel. L2 {error:.3e} against sin(pi x) cos(pi y) ({steps} steps,"
        f" {seconds:.0f} s)")
  return error


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("data_dir", help="PINNacle's ref/ folder (holds poisson1_cg_data.dat)")
  parser.add_argument("--steps", type=int, default=5000)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  main(args.data_dir, args.steps, args.seed, verbose=1)
