"""Training from host memory: HostDataset against data on the device and against
the usual hand-written host-fed JAX loop.

Workload: an MLP 64-256-256-1 regressor (``--width``) on 100,000 host examples, batch 256,
Adam. Contenders, alternated in one process after a warm-up fit each:

  device:  learner.fit((x, y)) - the data moved to the device once, minibatches
           drawn there (the upper bound: no host work per step)
  host:    learner.fit(of.HostDataset((x, y))) - minibatches gathered on the
           host by a background thread, K per chunk, prefetched
  hand:    for each step: numpy gather of a shuffled minibatch, jax.device_put,
           one jitted optax step (what a JAX tutorial writes for host data)

Prints the median time of each and the time ratios host/device (the cost of
keeping data off the device) and host/hand (below 1: faster than the
hand-written loop).

  python benchmarks/streaming.py [--steps 1000] [--repeats 3] [--width 256]
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of

N, DIM, BATCH = 100_000, 64, 256


WIDTH = [256]


def make_model():
  return of.models.MLP(DIM, [WIDTH[0], WIDTH[0], 1], rngs=nnx.Rngs(0))


def hand_loop(x, y, steps):
  graphdef, params = nnx.split(make_model())
  tx = optax.adam(1e-3)
  state = {"params": params, "opt": tx.init(params), "rng": np.random.default_rng(0)}

  @jax.jit
  def step(params, opt_state, xb, yb):
    loss, grads = jax.value_and_grad(
        lambda p: jnp.mean((nnx.merge(graphdef, p)(xb) - yb) ** 2))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  def run():
    perm = state["rng"].permutation(N)
    for i in range(steps):
      idx = perm[(i * BATCH) % (N - BATCH):][:BATCH]
      xb, yb = jax.device_put(x[idx]), jax.device_put(y[idx])
      state["params"], state["opt"], loss = step(state["params"], state["opt"], xb, yb)
    return float(loss)
  return run


def learner_loop(data, steps):
  learner = of.Learner(make_model(), of.Supervised(), optax.adam(1e-3))

  def run():
    learner.fit(data, steps=steps, batch_size=BATCH, verbose=0)
    return learner.logs.get("loss", float("nan"))
  return run


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--width", type=int, default=256, help="small: per-step host cost shows")
  args = parser.parse_args()
  WIDTH[0] = args.width
  rng = np.random.default_rng(0)
  x = rng.normal(size=(N, DIM)).astype(np.float32)
  y = np.sin(x[:, :1]) + 0.1 * x[:, 1:2]
  contenders = {"device": learner_loop((x, y), args.steps),
                "host": learner_loop(of.HostDataset((x, y)), args.steps),
                "hand": hand_loop(x, y, args.steps)}
  for run in contenders.values():  # compile
    run()
  times = {name: [] for name in contenders}
  for _ in range(args.repeats):
    for name, run in contenders.items():
      start = time.perf_counter()
      run()
      times[name].append(time.perf_counter() - start)
  med = {name: statistics.median(t) for name, t in times.items()}
  print(f"device: {jax.devices()[0].device_kind}; {args.steps} steps of batch {BATCH}, width "
        f"{args.width}, median of {args.repeats}")
  for name, t in med.items():
    print(f"  {name:7s} {t:7.3f} s  {args.steps / t:8.1f} steps/s")
  print(f"time host / device = {med['host'] / med['device']:.3f}   "
        f"time host / hand = {med['host'] / med['hand']:.3f}")


if __name__ == "__main__":
  main()
