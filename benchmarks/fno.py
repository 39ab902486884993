"""One FNO training epoch: Learner.fit against a hand-written jitted optax loop.

Workload: the Burgers example's data and model (1000 functions at resolution
256, FNO 4 layers, 16 modes, width 64), Adam, batch 20 (50 steps per epoch),
per-sample relative L2 loss. Both contenders shuffle on device and run the
epoch as one jitted ``lax.scan``; they are warmed up (compiled) first, then
alternated in one process, and the median epoch time of each is compared.

  hand:    jitted epoch(params, opt_state, key) over device-resident data
  learner: learner.fit((x, y), epochs=1, batch_size=20, verbose=0), called
           once per timed epoch (so each call also pays fit's argument checks
           and the host->device copy of the data)

  python benchmarks/fno.py [--repeats 7] [--n-train 1000]
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.datasets import burgers
from opifex_fit.problems.supervised import relative_l2

BATCH = 20


def make_model():
  return of.models.FNO(1, 1, (16,), width=64, n_layers=4, grid="periodic", rngs=nnx.Rngs(0))


def hand_loop(x, y):
  graphdef, params = nnx.split(make_model())
  tx = optax.adam(1e-3)
  x, y = jnp.asarray(x), jnp.asarray(y)
  n, steps = len(x), -(-len(x) // BATCH)

  @jax.jit
  def epoch(params, opt_state, key):
    perm = jax.random.permutation(key, n)
    perm = jnp.concatenate([perm, perm[:steps * BATCH - n]]).reshape(steps, BATCH)

    def step(carry, idx):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(
          lambda p: relative_l2(nnx.merge(graphdef, p)(x[idx]), y[idx]))(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss
    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), perm)
    return params, opt_state, losses.mean()

  state = {"params": params, "opt_state": tx.init(params), "epoch": 0}

  def run():
    key = jax.random.fold_in(jax.random.key(0), state["epoch"])
    state["params"], state["opt_state"], loss = epoch(state["params"], state["opt_state"], key)
    state["epoch"] += 1
    return float(loss)
  return run


def learner_loop(x, y):
  learner = of.Learner(make_model(), of.Supervised("relative_l2"), optax.adam(1e-3))

  def run():
    learner.fit((x, y), epochs=1, batch_size=BATCH, verbose=0)
    return learner.logs.get("loss", float("nan"))
  return run


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument("--n-train", type=int, default=1000)
  args = parser.parse_args()
  x, y = burgers(args.n_train, 256, nu=0.01)
  runs = {"hand": hand_loop(x, y), "learner": learner_loop(x, y)}
  for run in runs.values():
    run()  # warm-up: compile
  times = {name: [] for name in runs}
  for _ in range(args.repeats):
    for name, run in runs.items():
      start = time.perf_counter()
      loss = run()
      times[name].append(time.perf_counter() - start)
  med = {name: statistics.median(t) for name, t in times.items()}
  steps = -(-args.n_train // BATCH)
  print(f"device: {jax.devices()[0].device_kind}; one epoch = {steps} steps of batch {BATCH},"
        f" median of {args.repeats}; last loss {loss:.3e}")
  for name, t in med.items():
    print(f"  {name:8s} {t:7.3f} s/epoch  {steps / t:7.1f} steps/s")
  print(f"learner / hand = {med['learner'] / med['hand']:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
  main()
