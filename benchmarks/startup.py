"""Whole fits as a user sees them, compile included, each in a fresh process.

Tiny supervised fit (the issue's case): MLP 2-32-32-1 tanh, 2048 points,
batch 128 (16 steps per epoch), 300 epochs, Adam(1e-3). Contenders, each
timed from the trained model's construction being done to the trained
weights being ready (so the model's own initialisation, the same for all,
is left out), in a new Python process every time (cold compilation caches),
alternating, median of the repeats:

  tutorial:  jitted step, numpy shuffling on the host, float(loss) per step
  epoch-scan: one jitted lax.scan per epoch, shuffling on device
  learner:   of.Learner(...).fit(..., epochs=300, batch_size=128, verbose=0)
  learner, cached: the same with OPIFEX_FIT_CACHE_DIR set (a second start)

Goals: learner <= 0.5x tutorial, <= 1.1x epoch-scan.

Run: ``python benchmarks/startup.py [--repeats 3]``
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

COMMON = """
import time, numpy as np, jax, jax.numpy as jnp, optax
from flax import nnx
import opifex_fit as of
x = np.random.default_rng(0).uniform(-1, 1, (2048, 2)).astype(np.float32)
y = (np.sin(np.pi * x[:, :1]) * np.cos(np.pi * x[:, 1:])).astype(np.float32)
EPOCHS, BATCH = 300, 128
model = of.models.MLP(2, [32, 32, 1], rngs=nnx.Rngs(0))
jax.block_until_ready(nnx.state(model))
start = time.perf_counter()
"""

BODIES = {
    "tutorial": """
graphdef, params = nnx.split(model)
tx = optax.adam(1e-3)
opt_state = tx.init(params)
@jax.jit
def train_step(params, opt_state, xb, yb):
  loss_fn = lambda p: jnp.mean((nnx.merge(graphdef, p)(xb) - yb) ** 2)
  loss, grads = jax.value_and_grad(loss_fn)(params)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss
rng = np.random.default_rng(0)
for _ in range(EPOCHS):
  perm = rng.permutation(len(x))
  for i in range(0, len(x), BATCH):
    idx = perm[i:i + BATCH]
    params, opt_state, loss = train_step(params, opt_state, x[idx], y[idx])
    float(loss)
jax.block_until_ready(params)
""",
    "epoch-scan": """
graphdef, params = nnx.split(model)
tx = optax.adam(1e-3)
xd, yd = jnp.asarray(x), jnp.asarray(y)
steps = len(x) // BATCH
@jax.jit
def epoch(carry, key):
  perm = jax.random.permutation(key, len(x)).reshape(steps, BATCH)
  def step(carry, idx):
    params, opt_state = carry
    loss_fn = lambda p: jnp.mean((nnx.merge(graphdef, p)(xd[idx]) - yd[idx]) ** 2)
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss
  carry, losses = jax.lax.scan(step, carry, perm)
  return carry, losses.mean()
carry, key = (params, tx.init(params)), jax.random.key(0)
for e in range(EPOCHS):
  carry, loss = epoch(carry, jax.random.fold_in(key, e))
jax.block_until_ready(carry)
""",
    "learner": """
learner = of.Learner(model, of.Supervised("mse"), optax.adam(1e-3))
learner.fit((x, y), epochs=EPOCHS, batch_size=BATCH, verbose=0)
jax.block_until_ready(learner.state.params)
""",
}
BODIES["learner, cached"] = BODIES["learner"]


def run_once(name, cache_dir):
  env = dict(os.environ)
  env.pop("OPIFEX_FIT_CACHE_DIR", None)
  if name == "learner, cached":
    env["OPIFEX_FIT_CACHE_DIR"] = cache_dir
  script = COMMON + BODIES[name] + "print(time.perf_counter() - start)\n"
  out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                       check=True)
  return float(out.stdout.strip().splitlines()[-1])


def main(repeats=3):
  cache_dir = tempfile.mkdtemp(prefix="opifex-cache-")
  run_once("learner, cached", cache_dir)  # fills the cache: later runs are second starts
  times = {name: [] for name in BODIES}
  for _ in range(repeats):
    for name in BODIES:
      times[name].append(run_once(name, cache_dir))
  med = {name: statistics.median(t) for name, t in times.items()}
  print(f"whole fit, compile included, fresh process each; median of {repeats}")
  for name, t in med.items():
    print(f"  {name:16s} {t:7.2f} s")
  print(f"learner / tutorial   = {med['learner'] / med['tutorial']:.3f}  (goal <= 0.5)")
  print(f"learner / epoch-scan = {med['learner'] / med['epoch-scan']:.3f}  (goal <= 1.1)")
  print(f"second start (cache) / first = {med['learner, cached'] / med['learner']:.3f}")
  return med


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=3)
  main(parser.parse_args().repeats)
