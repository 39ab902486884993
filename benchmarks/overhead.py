"""Learner.fit against hand-written JAX loops on the same small regression.

Workload: sin(pi x) cos(pi y) on 1000 points, MLP 2-50-50-50-1 tanh, Adam,
batch 256 (4 steps per epoch). Three contenders, alternated in one process,
each warmed up first (compilation excluded), median of the repeats:

  tutorial: jitted step, numpy shuffling on the host, float(loss) every step
  expert:   one jitted lax.scan per epoch, shuffling on device
  learner:  of.Learner.fit(..., epochs=E, batch_size=256, verbose=0); with no
            callback listening to epoch ends, "auto" picks 1000-step chunks
  learner@4: the same with steps_per_execution=4 (one chunk per epoch, the
            expert loop's granularity)

  python benchmarks/overhead.py [--epochs 500] [--repeats 5]
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


def make_data():
  x = np.random.default_rng(0).uniform(-1, 1, (1000, 2)).astype(np.float32)
  return x, (np.sin(np.pi * x[:, :1]) * np.cos(np.pi * x[:, 1:])).astype(np.float32)


def make_model():
  return of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))


def tutorial_loop(x, y, epochs, batch):
  model = make_model()
  graphdef, params = nnx.split(model)
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, opt_state, xb, yb):
    def loss_fn(p):
      return jnp.mean((nnx.merge(graphdef, p)(xb) - yb) ** 2)
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(0)
  def run(params, opt_state):
    for _ in range(epochs):
      perm = rng.permutation(len(x))
      for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        params, opt_state, loss = train_step(params, opt_state, x[idx], y[idx])
        float(loss)
    return params
  return lambda: run(params, opt_state)


def expert_loop(x, y, epochs, batch):
  model = make_model()
  graphdef, params = nnx.split(model)
  tx = optax.adam(1e-3)
  x, y = jnp.asarray(x), jnp.asarray(y)
  n, steps = len(x), -(-len(x) // batch)

  @jax.jit
  def epoch(carry, key):
    perm = jax.random.permutation(key, n)
    perm = jnp.concatenate([perm, perm[:steps * batch - n]]).reshape(steps, batch)
    def step(carry, idx):
      params, opt_state = carry
      def loss_fn(p):
        return jnp.mean((nnx.merge(graphdef, p)(x[idx]) - y[idx]) ** 2)
      loss, grads = jax.value_and_grad(loss_fn)(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss
    carry, losses = jax.lax.scan(step, carry, perm)
    return carry, losses.mean()

  def run():
    carry = (params, tx.init(params))
    key = jax.random.key(0)
    for e in range(epochs):
      carry, loss = epoch(carry, jax.random.fold_in(key, e))
    jax.block_until_ready(carry)
    return carry
  return run


def learner_loop(x, y, epochs, batch, steps_per_execution="auto"):
  learner = of.Learner(make_model(), of.Supervised("mse"), optax.adam(1e-3))
  def run():
    learner.fit((x, y), epochs=epochs, batch_size=batch, verbose=0,
                steps_per_execution=steps_per_execution)
    jax.block_until_ready(learner.state.params)
  return run


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--epochs", type=int, default=500)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  x, y = make_data()
  runs = {name: build(x, y, args.epochs, 256) for name, build in
          (("tutorial", tutorial_loop), ("expert", expert_loop), ("learner", learner_loop),
           ("learner@4", lambda *a: learner_loop(*a, steps_per_execution=4)))}
  for run in runs.values():
    run()  # warm-up: compile
  times = {name: [] for name in runs}
  for _ in range(args.repeats):
    for name, run in runs.items():
      start = time.perf_counter()
      run()
      times[name].append(time.perf_counter() - start)
  med = {name: statistics.median(t) for name, t in times.items()}
  steps = args.epochs * 4
  print(f"device: {jax.devices()[0].device_kind}; {steps} steps per run, median of {args.repeats}")
  for name, t in med.items():
    print(f"  {name:9s} {t:7.3f} s  {steps / t:9.0f} steps/s")
  print(f"learner / tutorial = {med['learner'] / med['tutorial']:.3f}  (goal <= 0.5)")
  print(f"learner / expert   = {med['learner'] / med['expert']:.3f}  (goal <= 1.1)")
  print(f"learner@4 / expert = {med['learner@4'] / med['expert']:.3f}  (chunks of one epoch, "
        "as when a callback listens to every epoch end)")


if __name__ == "__main__":
  main()
