"""The seed Poisson PINN in opifex-fit and in DeepXDE (JAX backend), same run.

Both train MLP 2-50-50-50-1 tanh (Glorot normal, zero biases) with Adam(1e-3)
on the same 2000 interior and 400 boundary points (DeepXDE gets them as
``anchors``; as DeepXDE always does, its PDE residual is also evaluated at
the boundary points, 2400 in all), u = 0 on the boundary, boundary weight 10.
Runs alternate in one process. Reported: the first fit (compile + ``--steps``
steps, as a user sees it), steps/s of the later fits (median), and ratios.
DeepXDE dispatches one jitted step per iteration from Python; the learner
scans chunks. Goal: learner >= 1.7x DeepXDE steps/s.

DeepXDE is optional: ``pip install deepxde`` (benchmarks only).

Run: ``python benchmarks/peers/deepxde_poisson.py [--steps 1000] [--repeats 3]``
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("DDE_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

import opifex_fit as of  # noqa: E402

PI = np.pi


def residual(x, u, d):
  return d["xx"] + d["yy"] + 2 * PI**2 * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


def opifex_run(data):
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)], weights={"bc": 10.0})
  model = of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))
  learner = of.Learner(model, problem, optax.adam(1e-3))

  def run(steps):
    start = time.perf_counter()
    learner.fit(data, steps=steps, verbose=0)
    jax.block_until_ready(learner.state.params)
    return time.perf_counter() - start
  return run


def deepxde_run(data, dde):
  geom = dde.geometry.Rectangle([0, 0], [1, 1])

  def pde(x, y):
    lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
    src = 2 * PI**2 * jnp.sin(PI * x[:, 0:1]) * jnp.sin(PI * x[:, 1:2])
    return lap[0] + src if isinstance(lap, tuple) else lap + src

  bc = dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), lambda x, on: on)
  anchors = np.concatenate([data["pde"], data["bc"]]).astype(np.float32)
  pinn = dde.data.PDE(geom, pde, bc, num_domain=0, num_boundary=0, anchors=anchors)
  net = dde.nn.FNN([2, 50, 50, 50, 1], "tanh", "Glorot normal")
  model = dde.Model(pinn, net)
  model.compile("adam", lr=1e-3, loss_weights=[1.0, 10.0])

  def run(steps):
    start = time.perf_counter()
    model.train(iterations=steps, display_every=10**9, verbose=0)
    jax.block_until_ready(model.params)
    return time.perf_counter() - start
  return run


def main(steps=1000, repeats=3):
  try:
    import deepxde as dde  # noqa: PLC0415 - optional, and DDE_BACKEND must be set first
  except ImportError:
    print("DeepXDE is not installed: `pip install deepxde` to run this peer benchmark; skipped.")
    return None
  dde.config.set_default_float("float32")
  problem = of.PDEProblem(residual, of.Box({"x": (0, 1), "y": (0, 1)}), [of.DirichletBC(0.0)])
  data = problem.sample(n_interior=2000, n_boundary=400, seed=0)
  runs = {"opifex-fit Learner.fit": opifex_run(data), "DeepXDE 1.x, JAX backend": deepxde_run(data, dde)}
  first = {name: run(steps) for name, run in runs.items()}  # compile + the same steps
  times = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      times[name].append(run(steps))
  rate = {name: steps / statistics.median(t) for name, t in times.items()}
  names = list(runs)
  print(f"device: {jax.devices()[0].device_kind}; {steps} steps per run, {repeats} alternating runs")
  print(f"{'peer':28s} {'steps/s':>9s} {'first fit, compile included (s)':>32s}")
  for name in names:
    print(f"{name:28s} {rate[name]:9.1f} {first[name]:32.2f}")
  print(f"ratio opifex-fit / DeepXDE steps/s: {rate[names[0]] / rate[names[1]]:.2f} (goal >= 1.7)")
  return rate


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  main(args.steps, args.repeats)
