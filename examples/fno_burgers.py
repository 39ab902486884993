"""1-D Burgers with a Fourier Neural Operator (Li et al., ICLR 2021, section 5.1).

Learns ``u(., 0) -> u(., 1)`` for ``u_t + (u^2/2)_x = nu u_xx`` on the periodic
unit interval, initial conditions ``N(0, 625 (-Laplacian + 25 I)^(-2))``. The
data comes from this package's pseudo-spectral ETDRK4 solver on 1024 points
(checked against Cole-Hopf in the tests), subsampled to 256 for training.
Model as in the paper: FNO, 4 Fourier layers, 16 modes, width 64; Adam with
L2 weight decay 1e-4 and the learning rate halved five times over the run
(the paper: 500 epochs, halved every 100). Loss and metric: per-sample
relative L2, averaged. The trained model is then evaluated at resolution 512
on the same test functions without retraining.

Viscosity: the paper's text says nu = 0.1, but at T = 1 that solution is 97%
its conserved mean (the waves decay by e^{-4 pi^2 nu} ~ 0.02), so predicting
the mean alone scores ~3e-2. The default here is nu = 0.01, where fronts
steepen and 36% of the output's norm is not the mean; pass --nu 0.1 for the
paper's stated value.

  python examples/fno_burgers.py                 # 1000/200 functions, 200 epochs
  python examples/fno_burgers.py --epochs 5      # a quick look
  python examples/fno_burgers.py --host-data     # train from host memory

Measured on 2 shared CPU cores: data ~2 min once (cached in examples/data);
200 epochs in 524 s: train 8.7e-3, test relative L2 1.46e-2 at 256 and
1.47e-2 at 512 zero-shot (target 2e-2; the paper: 1.5e-2 after 500 epochs).
100 epochs (438 s, heavily loaded machine) gave 2.05e-2 at both resolutions.
"""

import argparse
import time

import optax
from flax import nnx

import opifex_fit as of
from opifex_fit.datasets import burgers


def main(epochs=200, n_train=1000, n_test=200, nu=0.01, batch_size=20, cache_dir=None,
         verbose=1, host_data=False):
  kw = dict(nu=nu, solver_resolution=1024)
  if cache_dir is not None:
    kw["cache_dir"] = cache_dir
  start = time.perf_counter()
  x_train, y_train = burgers(n_train, 256, seed=0, **kw)
  x_test, y_test = burgers(n_test, 256, seed=1, **kw)
  x_512, y_512 = burgers(n_test, 512, seed=1, **kw)      # the same test functions
  data_seconds = time.perf_counter() - start

  model = of.models.FNO(1, 1, modes=(16,), width=64, n_layers=4, grid="periodic",
                        rngs=nnx.Rngs(0))
  steps_per_epoch = -(-n_train // batch_size)
  schedule = optax.exponential_decay(1e-3, transition_steps=max(1, epochs // 5) * steps_per_epoch,
                                     decay_rate=0.5, staircase=True)
  optimizer = optax.chain(optax.add_decayed_weights(1e-4), optax.adam(schedule))
  learner = of.Learner(model, of.Supervised(loss="relative_l2"), optimizer)
  start = time.perf_counter()
  # --host-data: the training set stays in host memory and is streamed in
  # prefetched chunks (what a dataset too large for the device needs).
  train = of.HostDataset((x_train, y_train)) if host_data else (x_train, y_train)
  history = learner.fit(train, epochs=epochs, batch_size=batch_size,
                        validation_data=(x_test, y_test), verbose=verbose)
  train_seconds = time.perf_counter() - start
  error_256 = learner.evaluate((x_test, y_test))["loss"]
  error_512 = learner.evaluate((x_512, y_512))["loss"]
  print(f"Burgers nu={nu}: {n_train} train / {n_test} test, {epochs} epochs in"
        f" {train_seconds:.0f} s (data {data_seconds:.0f} s); final train rel. L2"
        f" {history['loss'][-1]:.2e}; test rel. L2 at 256: {error_256:.2e}, at 512"
        f" (zero-shot): {error_512:.2e}")
  return error_256, error_512


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--epochs", type=int, default=200)
  parser.add_argument("--n-train", type=int, default=1000)
  parser.add_argument("--n-test", type=int, default=200)
  parser.add_argument("--nu", type=float, default=0.01)
  parser.add_argument("--cache-dir", default=None, help="default: examples/data")
  parser.add_argument("--host-data", action="store_true",
                      help="keep the training set in host memory (of.HostDataset)")
  args = parser.parse_args()
  main(args.epochs, args.n_train, args.n_test, args.nu, cache_dir=args.cache_dir,
       host_data=args.host_data)
