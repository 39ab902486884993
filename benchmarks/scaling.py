"""Data-parallel scaling: optimizer steps/s on 1, 2 and 4 devices at a fixed
global batch, for a PINN (2-D Poisson, Laplacian by forward mode) and a
supervised MLP regression.

  python benchmarks/scaling.py                    # faked CPU devices, one subprocess each
  python benchmarks/scaling.py --devices 1 2 4 --points 8192 --steps 300

Each device count runs in its own process with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (JAX fixes the device
count at start-up); ``--worker N`` is that process. "none" is ``mesh=None``
on one device, the baseline a mesh must not slow down.

Measured here (2 busy host cores, faked CPU devices, 4096 points, 200 steps):

  devices   PINN steps/s   MLP steps/s
     none           36.5          99.4
        1           35.2          79.3   (repeat runs: 91-98 against 98-107 for none)
        2           45.2          87.8
        4           39.4          86.5

What to expect. Faked CPU devices share the host's cores, so on CPU this
measures the overhead of the SPMD program (collectives, padding), not a speed
up: with C cores and N devices each device gets C/N of them. On a GPU machine
with N GPUs the same script (without the XLA flag: pass --real) splits the
residual evaluation, which dominates a PINN step, N ways; the price is one
all-reduce of the parameter gradients per step (a 3x64 MLP has ~9k floats:
tens of microseconds over NVLink), so steps/s grow nearly N-fold while each
GPU keeps at least ~10^4 points, and flatten once the per-GPU batch is too
small to fill a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(devices: str, points: int, steps: int) -> dict:
  sys.path.insert(0, ROOT)
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax
  from flax import nnx

  import opifex_fit as of

  mesh = None if devices == "none" else of.data_parallel_mesh(jax.devices()[:int(devices)])

  def poisson(x, u, d):
    return d["laplacian"] + 2 * jnp.pi ** 2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])

  problem = of.PDEProblem(poisson, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)])
  x = np.random.default_rng(0).uniform(-1, 1, (points, 4)).astype(np.float32)
  cases = {
      "pinn": (lambda: of.models.MLP(2, [64, 64, 64, 1], rngs=nnx.Rngs(0)), problem,
               problem.sample(n_interior=points, n_boundary=points // 8)),
      "supervised": (lambda: of.models.MLP(4, [256, 256, 1], rngs=nnx.Rngs(0)),
                     of.Supervised(), (x, np.sin(x.sum(1, keepdims=True)))),
  }
  out = {"devices": devices, "platform": jax.devices()[0].platform}
  for name, (model, prob, data) in cases.items():
    learner = of.Learner(model(), prob, optax.adam(1e-3), mesh=mesh)
    learner.fit(data, steps=steps, steps_per_execution=steps, verbose=0)  # compile
    jax.block_until_ready(learner.state)
    start = time.perf_counter()
    learner.fit(data, steps=steps, steps_per_execution=steps, verbose=0)
    jax.block_until_ready(learner.state)
    out[name] = steps / (time.perf_counter() - start)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--devices", nargs="+", default=["none", "1", "2", "4"])
  parser.add_argument("--points", type=int, default=4096, help="global batch / interior points")
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--real", action="store_true", help="use the real devices (GPUs)")
  parser.add_argument("--worker", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    print("RESULT " + json.dumps(worker(args.worker, args.points, args.steps)), flush=True)
    return
  rows = []
  for n in args.devices:
    env = dict(os.environ)
    if not args.real:
      count = 1 if n == "none" else int(n)
      env.update(JAX_PLATFORMS="cpu",
                 XLA_FLAGS=f"--xla_force_host_platform_device_count={count}")
    proc = subprocess.run([sys.executable, __file__, "--worker", n, "--points", str(args.points),
                           "--steps", str(args.steps)], env=env, capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
      raise SystemExit(f"--worker {n} failed:\n{proc.stderr[-3000:]}")
    rows.append(json.loads(line[0][7:]))
  print(f"global batch {args.points} points, {args.steps} steps, platform {rows[0]['platform']},"
        f" {os.cpu_count()} host cores")
  print(f"{'devices':>8} {'PINN steps/s':>14} {'MLP steps/s':>14}")
  for r in rows:
    print(f"{r['devices']:>8} {r['pinn']:>14.1f} {r['supervised']:>14.1f}")


if __name__ == "__main__":
  main()
