"""2-D Darcy flow with a Fourier Neural Operator (Li et al., ICLR 2021, section 5.2).

Learns ``a -> u`` for ``-div(a grad u) = 1`` on the unit square with ``u = 0``
on the boundary, ``a`` piecewise constant (12 / 3) from a thresholded
Gaussian random field. Data from this package's finite-difference solver
(second order on a manufactured solution in the tests), solved on a 129 x 129
node grid and subsampled to 33 x 33 (the paper: 421 -> 85). Model as in the
paper: FNO, 4 Fourier layers, 12 x 12 modes, width 32, grid coordinates, the
domain zero-padded since it is not periodic; Adam with L2 weight decay 1e-4
and the learning rate halved five times over the run. Inputs are
standardised with the training mean and deviation and targets divided by
their deviation (relative L2 is unchanged by that scale).

  python examples/fno_darcy.py                   # 1000/200 samples, 30 epochs
  python examples/fno_darcy.py --epochs 5        # a quick look

Measured on 2 heavily shared CPU cores (load ~10): data 223 s once (cached
in examples/data), 30 epochs in 1201 s wall (295 s CPU user): train 1.61e-2,
test relative L2 1.75e-2 (target 3e-2; the paper: 1.08e-2 at 85 x 85, 500
epochs). Two epochs already give 4.9e-2.
"""

import argparse
import time

import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.datasets import darcy


def main(epochs=30, n_train=1000, n_test=200, resolution=33, batch_size=20, cache_dir=None,
         verbose=1):
  kw = dict(resolution=resolution, refine=4)
  if cache_dir is not None:
    kw["cache_dir"] = cache_dir
  start = time.perf_counter()
  a_train, u_train = darcy(n_train, seed=0, **kw)
  a_test, u_test = darcy(n_test, seed=1, **kw)
  data_seconds = time.perf_counter() - start
  mean, std, scale = a_train.mean(), a_train.std(), u_train.std()
  train = ((a_train - mean) / std, u_train / scale)
  test = ((a_test - mean) / std, u_test / scale)

  model = of.models.FNO(1, 1, modes=(12, 12), width=32, n_layers=4, grid="closed",
                        padding=max(1, resolution // 8), rngs=nnx.Rngs(0))
  steps_per_epoch = -(-n_train // batch_size)
  schedule = optax.exponential_decay(1e-3, transition_steps=max(1, epochs // 5) * steps_per_epoch,
                                     decay_rate=0.5, staircase=True)
  optimizer = optax.chain(optax.add_decayed_weights(1e-4), optax.adam(schedule))
  learner = of.Learner(model, of.Supervised(loss="relative_l2"), optimizer)
  start = time.perf_counter()
  history = learner.fit(train, epochs=epochs, batch_size=batch_size, validation_data=test,
                        verbose=verbose)
  train_seconds = time.perf_counter() - start
  error = learner.evaluate(test)["loss"]
  print(f"Darcy {resolution}x{resolution}: {n_train} train / {n_test} test, {epochs} epochs in"
        f" {train_seconds:.0f} s (data {data_seconds:.0f} s); final train rel. L2"
        f" {history['loss'][-1]:.2e}; test rel. L2 {error:.2e}")
  return error


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--epochs", type=int, default=30)
  parser.add_argument("--n-train", type=int, default=1000)
  parser.add_argument("--n-test", type=int, default=200)
  parser.add_argument("--resolution", type=int, default=33)
  parser.add_argument("--cache-dir", default=None, help="default: examples/data")
  args = parser.parse_args()
  main(args.epochs, args.n_train, args.n_test, args.resolution, cache_dir=args.cache_dir)
