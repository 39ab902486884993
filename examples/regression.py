"""Regression of u(x, y) = sin(pi x) cos(pi y) on 1000 scattered points.

MLP 2-50-50-50-1 (tanh), Adam, minibatches of 256, a held-out validation set,
EarlyStopping with best-weight restore. Prints the final train and validation
MSE and the relative L2 error on a fresh test grid.

  python examples/regression.py            # ~1 min on 2 CPU cores
"""

import time

import numpy as np
import optax
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb


def target(xy):
  return (np.sin(np.pi * xy[:, :1]) * np.cos(np.pi * xy[:, 1:])).astype(np.float32)


def main(epochs=3000, verbose=1):
  rng = np.random.default_rng(0)
  x_train = rng.uniform(-1, 1, (1000, 2)).astype(np.float32)
  x_val = rng.uniform(-1, 1, (200, 2)).astype(np.float32)
  model = of.models.MLP(2, [50, 50, 50, 1], activation="tanh", rngs=nnx.Rngs(0))
  schedule = optax.cosine_decay_schedule(3e-3, decay_steps=epochs * 4, alpha=0.01)
  learner = of.Learner(model, of.Supervised("mse"), optax.adam(schedule))
  start = time.perf_counter()
  history = learner.fit(
      (x_train, target(x_train)), epochs=epochs, batch_size=256,
      validation_data=(x_val, target(x_val)), validation_every=100, verbose=verbose,
      callbacks=[cb.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)])
  seconds = time.perf_counter() - start
  grid = np.stack(np.meshgrid(np.linspace(-1, 1, 101), np.linspace(-1, 1, 101)), -1)
  grid = grid.reshape(-1, 2).astype(np.float32)
  pred, exact = np.asarray(learner.predict(grid)), target(grid)
  rel_l2 = np.linalg.norm(pred - exact) / np.linalg.norm(exact)
  train = learner.evaluate((x_train, target(x_train)))["loss"]
  val = learner.evaluate((x_val, target(x_val)))["loss"]
  print(f"steps {learner.step} in {seconds:.1f}s | train MSE {train:.2e} | "
        f"validation MSE {val:.2e} | test relative L2 {rel_l2:.2e}")
  return {"train": train, "val": val, "rel_l2": rel_l2, "history": history}


if __name__ == "__main__":
  main()
