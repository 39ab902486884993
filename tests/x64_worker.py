"""float64 end to end, run in a subprocess by test_float64.py (``jax_enable_x64``
is process-global: it must never leak into the other tests).

``python x64_worker.py DIR`` trains float64 weights with Adam, switches to
L-BFGS, checkpoints, resumes, evaluates, predicts, and asserts every dtype and
the exactness of the resume; it prints OK at the end."""

import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

import opifex_fit as of  # noqa: E402
from opifex_fit import callbacks as cb  # noqa: E402

F64 = jnp.dtype(jnp.float64)


class Net(nnx.Module):
  def __init__(self, rngs):
    self.l1 = nnx.Linear(1, 16, param_dtype=jnp.float64, rngs=rngs)
    self.l2 = nnx.Linear(16, 1, param_dtype=jnp.float64, rngs=rngs)

  def __call__(self, x):
    return self.l2(jnp.tanh(self.l1(x)))


def data():
  x = np.linspace(-1, 1, 64)[:, None]  # numpy float64: kept float64 under x64
  return x, np.sin(3 * x)


def fit(directory, steps, log):
  learner = of.Learner(Net(nnx.Rngs(0)), of.Supervised(), optax.adam(1e-2))
  learner.fit(data(), steps=steps, verbose=0, validation_data=data(), validation_every=10,
              callbacks=[cb.SwitchOptimizer(20, optax.lbfgs()),
                         cb.Checkpoint(directory, every=10, verbose=0),
                         cb.EarlyStopping("val_loss", patience=100),
                         cb.ReduceLROnPlateau("loss", patience=100), cb.TerminateOnNaN(),
                         cb.LossExplosionRecovery(), cb.CSVLogger(log)])
  return learner


def check_dtypes(learner):
  state = learner.state
  floats = [a.dtype for a in jax.tree.leaves(state.params)]
  assert floats and all(d == F64 for d in floats), floats
  assert state.lr_scale.dtype == F64 and state.loss_weights["data"].dtype == F64
  x, y = data()
  pred = learner.predict(x)
  assert pred.dtype == F64, pred.dtype
  # float64 precision: evaluate equals the hand-computed eval-mode loss to ~1e-15.
  expected = float(np.mean((np.asarray(pred) - y) ** 2))
  got = learner.evaluate(data())["loss"]
  assert abs(got - expected) <= 1e-13 * expected, (got, expected)
  assert len(learner.history.loss) == 4, learner.history.steps


def main(directory):
  first = fit(os.path.join(directory, "a"), 30, os.path.join(directory, "a.csv"))
  resumed = fit(os.path.join(directory, "a"), 40, os.path.join(directory, "a.csv"))
  reference = fit(os.path.join(directory, "b"), 40, os.path.join(directory, "b.csv"))
  assert first.step == 30 and resumed.step == reference.step == 40
  assert reference.trace_counts["chunk"] == 2  # Adam, then L-BFGS: one recompile
  for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(reference.state.params),
                  strict=True):
    np.testing.assert_array_equal(a, b)
  assert resumed.history.loss == reference.history.loss
  check_dtypes(reference)
  # The logged losses are float64 values (a float32 one would round-trip).
  assert all(float(np.float32(v)) != v for v in reference.history.loss)
  print("OK", reference.history.loss)


if __name__ == "__main__":
  main(sys.argv[1])
