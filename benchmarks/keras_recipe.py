"""The standard Keras recipe against the bare fit of the same data.

Workload: 50,000 examples ``x`` in [-1, 1]^8, ``y = sin(x . w)``; MLP
8-64-64-1 tanh, Adam(1e-3); ``fit(epochs=3, batch_size=128)`` (391 steps per
epoch, 1173 steps). The recipe adds ``validation_data`` (10,000 examples,
validated once per epoch) and the callbacks

  EarlyStopping("val_loss", patience=50), Checkpoint(dir, every=1000),
  TensorBoard(dir, every=100)

so chunk boundaries fall at every multiple of 100, at 1000 and at the epoch
ends 391, 782, 1173 (no cadence divides another). Each round builds a fresh
learner per variant and times two fits on it: the first (compile included,
as a user sees it) and a second of 3 more epochs (after compile). Rounds
alternate the variants in one process; medians are reported with the chunk
compiles per learner and the History rows per fit. A third variant,
``no_ckpt``, is the recipe without the Checkpoint: it separates the loop's
own cost from the two Orbax writes per fit (at step 1000 and at the end,
which ``on_fit_end`` waits for), a fixed cost that dominates a 1173-step fit
of this small model.

  python benchmarks/keras_recipe.py [--rounds 3]

Goal: recipe >= 0.9x the bare fit's steps/s after compile, one chunk compile.
"""

import argparse
import statistics
import tempfile
import time

import jax
import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

EPOCHS, BATCH = 3, 128


def make_data(n, seed):
  rng = np.random.default_rng(seed)
  x = rng.uniform(-1, 1, (n, 8)).astype(np.float32)
  w = np.linspace(-1, 1, 8, dtype=np.float32)
  return x, np.sin(x @ w)[:, None]


def make_learner():
  model = of.models.MLP(8, [64, 64, 1], activation="tanh", rngs=nnx.Rngs(0))
  return of.Learner(model, of.Supervised("mse"), optax.adam(1e-3))


def recipe_kwargs(root, validation, checkpoint=True):
  callbacks = [cb.EarlyStopping("val_loss", patience=50), cb.TensorBoard(f"{root}/tb", every=100)]
  if checkpoint:
    callbacks.append(cb.Checkpoint(f"{root}/ckpt", every=1000, verbose=0))
  return dict(validation_data=validation, callbacks=callbacks)


def one_round(name, data, validation):
  """``(first fit s, second fit s, chunk compiles, history rows of one fit)``."""
  learner, times = make_learner(), []
  root = tempfile.mkdtemp(prefix="opifex_keras_recipe_")
  for _ in range(2):
    extra = {} if name == "bare" else recipe_kwargs(root, validation, name == "recipe")
    rows = len(learner.history.steps)
    start = time.perf_counter()
    learner.fit(data, epochs=EPOCHS, batch_size=BATCH, verbose=0, **extra)
    jax.block_until_ready(learner.state.params)
    times.append(time.perf_counter() - start)
  return times[0], times[1], learner.trace_counts["chunk"], len(learner.history.steps) - rows


def main(rounds=3):
  data, validation = make_data(50_000, 0), make_data(10_000, 1)
  steps = EPOCHS * -(-len(data[0]) // BATCH)
  results = {"bare": [], "recipe": [], "no_ckpt": []}
  for _ in range(rounds):
    for name in results:
      results[name].append(one_round(name, data, validation))
  print(f"device: {jax.devices()[0].device_kind}; {steps} steps per fit (epochs={EPOCHS}, "
        f"batch {BATCH}, 50,000 examples); {rounds} alternating rounds")
  print(f"{'fit':7s} {'first fit s':>11s} {'steps/s':>9s} {'compiles':>9s} {'rows':>5s}")
  rate = {}
  for name, rs in results.items():
    first = statistics.median(r[0] for r in rs)
    rate[name] = steps / statistics.median(r[1] for r in rs)
    print(f"{name:7s} {first:11.2f} {rate[name]:9.1f} {rs[-1][2]:9d} {rs[-1][3]:5d}")
  ratio = rate["recipe"] / rate["bare"]
  print(f"ratio recipe / bare after compile: {ratio:.3f}  (goal >= 0.9); without the "
        f"Checkpoint's disk writes: {rate['no_ckpt'] / rate['bare']:.3f}")
  return ratio


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=3)
  main(parser.parse_args().rounds)
