"""NS2d-C, PINNacle's lid-driven cavity (Hao et al. 2024, NeurIPS Datasets & Benchmarks).

Steady incompressible Navier-Stokes at Re = 100 on the unit square, three
outputs (u, v, p):

  u u_x + v u_y + p_x - (u_xx + u_yy) / 100 = 0,
  u v_x + v v_y + p_y - (v_xx + v_yy) / 100 = 0,
  u_x + v_y = 0,

the lid ``y = 1`` moves with ``u = 4 x (1 - x)``, ``v = 0``; the other walls
hold ``u = v = 0``; the pressure, defined up to a constant, is pinned by
``p(0, 0) = 0`` (``of.PointData`` on output 2, PINNacle's "pointset" term).

PINNacle's protocol (``src/pde/ns.py`` ``NS2D_LidDriven``, ``benchmark.py``):
5 x 100 tanh MLP, Adam 1e-3 for 20000 steps, 8192 interior and 2048 boundary
points, unit loss weights; the error is the relative L2 over u, v and p
together at the 10201 nodes of its COMSOL reference
(``lid_driven_a4.dat``). Its table: vanilla PINN 4.70e-2, best 3.60e-2 (LAAF).
Here the boundary points are split over the lid and the walls (512 each for
u and v), and the pin is one point, as there.

Measured (seed 0, 2 CPU cores shared with other runs): see the README.

Run: ``python examples/lid_driven_cavity.py PINNACLE_REF_DIR [--steps 20000 --points 8192]``.
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

NU = 1.0 / 100
PAPER = {"vanilla": 4.70e-2, "best": 3.60e-2}  # PINNacle main table: PINN, LAAF
SQUARE = of.Box({"x": (0.0, 1.0), "y": (0.0, 1.0)})


def navier_stokes(x, u, d):
  ux, uy, vx, vy = d["x"][0], d["y"][0], d["x"][1], d["y"][1]
  lap = d["xx"] + d["yy"]
  return jnp.stack([u[0] * ux + u[1] * uy + d["x"][2] - NU * lap[0],
                    u[0] * vx + u[1] * vy + d["y"][2] - NU * lap[1],
                    ux + vy])


def problem():
  lid = lambda x: 4.0 * x[0] * (1.0 - x[0])
  walls = ["left", "right", "bottom"]
  return of.PDEProblem(navier_stokes, SQUARE, [
      of.DirichletBC(lid, on="top", component=0, name="lid_u"),
      of.DirichletBC(0.0, on="top", component=1, name="lid_v"),
      of.DirichletBC(0.0, on=walls, component=0, name="wall_u"),
      of.DirichletBC(0.0, on=walls, component=1, name="wall_v"),
      of.PointData([[0.0, 0.0]], [0.0], component=2, name="p_pin")])


def reference(data_dir):
  table = of.datasets.read_comsol(os.path.join(data_dir, "lid_driven_a4.dat"))
  return table.coordinates, table.fields  # (10201, 2), columns u, v, p


def main(data_dir, steps=20000, points=8192, seed=0, verbose=0):
  nodes, ref = reference(data_dir)
  pde = problem()
  data = pde.sample(n_interior=points, n_boundary=points // 16, seed=seed)
  model = of.models.MLP(2, [100] * 5 + [3], activation="tanh", rngs=nnx.Rngs(seed))
  learner = of.Learner(model, pde, optax.adam(1e-3), seed=seed)
  start = time.perf_counter()
  learner.fit(data, steps=steps, verbose=verbose)
  seconds = time.perf_counter() - start
  pred = np.asarray(learner.predict(jnp.asarray(nodes, jnp.float32), batch_size=8192))
  error = relative_l2(pred, ref)
  per_output = [relative_l2(pred[:, i], ref[:, i]) for i in range(3)]
  print(f"NS2d-C (PINNacle protocol: 5 x 100 tanh, Adam 1e-3, {steps} steps, {points} points;"
        f" PINNacle: 20000 steps, 8192 points)")
  print(f"  rel. L2 (u, v, p together) {error:.3e}   u {per_output[0]:.2e}  v {per_output[1]:.2e}"
        f"  p {per_output[2]:.2e}   ({seconds:.0f} s)")
  print(f"  PINNacle: vanilla PINN {PAPER['vanilla']:.2e}, best {PAPER['best']:.2e} (LAAF)")
  return {"rel_l2": error, "per_output": per_output, "seconds": seconds}


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("data_dir", help="PINNacle's ref/ folder (holds lid_driven_a4.dat)")
  parser.add_argument("--steps", type=int, default=20000)
  parser.add_argument("--points", type=int, default=8192)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  main(args.data_dir, args.steps, args.points, args.seed, verbose=1)
