"""Allen-Cahn (D = 1e-3) with RAD on Wu et al.'s protocol (CMAME 403, 2023).

  u_t = 1e-3 u_xx - 5 (u^3 - u),  x in [-1, 1], t in [0, 1],
  u(x, 0) = x^2 cos(pi x),  u(-1, t) = u(1, t) = -1.

The paper's code (lu-group/pinn-sampling, ``Code/Allen-Cahn``) as opifex-fit
calls: float64, a 3 x 64 tanh network (Glorot normal) with the hard
constraint ``u = x^2 cos(pi x) + t (1 - x^2) N(x, t)`` (the PDE residual is
the only loss term), 2000 residual points, Adam (lr 1e-3) for
``--first-adam`` steps and L-BFGS for ``--lbfgs-steps``, then ``--rounds``
rounds of [resample; Adam 1000; L-BFGS 1000], every phase with fresh
optimizer state (``of.recipes.resampling_rounds``). Methods:

* RAD: 2000 points redrawn from ``p ~ |r| / mean|r| + 1`` over 100000
  uniform candidates (``RAD(k=1, c=1)``), once per round;
* uniform: the same 2000 uniform points throughout (``resampler=None``),
  for comparison (``--methods uniform RAD``).

The error is the relative L2 error against ``datasets.allen_cahn_dirichlet``
(Chebyshev / ETDRK4, resolved to ~1e-11) on the paper's 201 x 101 grid
(dx = dt = 0.01). The paper (100 rounds): RAD 8e-4; the goal of issue 13 is
RAD <= 1.6e-3.

Budget. The paper's is 15000 + 1000 + 100 x 2000 = 216000 steps per method.
The default here is 5 rounds (26000 steps, 12% of the paper's), about 15
minutes on 2 CPU cores shared with other jobs (about 28 steps/s in float64,
L-BFGS steps included; 6 minutes on an idle machine).

Measured (default budget, seed 0, float64, 2 CPU cores shared with one
other run; L-BFGS with DeepXDE's 100 curvature pairs)::

  untrained (u0 + 0)             rel. L2 6.74e-01
  round 0 (Adam 15000 + L-BFGS)  rel. L2 4.14e-02   (246 s)
  round 1 .. 5                   2.07e-02, 2.37e-02, 1.62e-02, 1.58e-02, 1.32e-02

  | method | rel. L2 (ours, 5 rounds) | paper (100 rounds) | wall time |
  | RAD    | 1.32e-02                 | 8.0e-04            | 510 s     |

The paper's budget, ``--rounds 100 --report-every 10`` (216000 steps; the
same seed, 2 CPU cores shared with one to three other runs)::

  round   0       10      20      30      40      50      60      70      80      90      100
  RAD  4.14e-2 9.97e-3 6.18e-3 4.11e-3 3.86e-3 3.45e-3 2.08e-3 1.65e-3 1.05e-3 2.48e-3 1.23e-3

  6299 s (paper: 8.0e-4 after 100 rounds)

The issue's goal (RAD <= 1.6e-3) is reached at the paper's budget; one seed
moves by 2x between rounds. With optax's default L-BFGS memory (10 pairs) the
5-round run gave 8.03e-2 after the first phase and 2.63e-2 after 5 rounds.
The reference differs from the paper's ``usol_D_0.001_k_5.mat``
(lu-group/pinn-sampling) by 1.6e-4 relative L2 on the same grid.

Run: ``python examples/allen_cahn_wu_rad.py [--rounds 100 --methods uniform RAD]``
(``--rounds 100`` is the paper's budget).
"""

import argparse
import sys
import time

import jax

jax.config.update("jax_enable_x64", "--x32" not in sys.argv)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

import opifex_fit as of  # noqa: E402
from opifex_fit import callbacks as cb  # noqa: E402
from opifex_fit.datasets import allen_cahn_dirichlet  # noqa: E402
from opifex_fit.problems.reference import relative_l2  # noqa: E402

D = 1e-3
N_RESIDUAL = 2000
PAPER = {"uniform": None, "RAD": 8.0e-4}
METHODS = tuple(PAPER)


def problem():
  def allen_cahn(x, u, d):
    return d["t"] - D * d["xx"] + 5 * (u ** 3 - u)
  return of.PDEProblem(allen_cahn, of.Box({"x": (-1.0, 1.0), "t": (0.0, 1.0)}),
                       output_transform=lambda x, u: x[0] ** 2 * jnp.cos(jnp.pi * x[0])
                       + x[1] * (1 - x[0] ** 2) * u)


def test_grid(dtype, cache_dir=None):
  kwargs = {} if cache_dir is None else {"cache_dir": cache_dir}
  t, x, u = allen_cahn_dirichlet(201, 101, diffusion=D, **kwargs)
  grid = np.stack(np.meshgrid(x, t, indexing="xy"), axis=-1).reshape(-1, 2)
  return jnp.asarray(grid, dtype), u.reshape(-1)


def run(method, *, rounds, first_adam, adam_steps, lbfgs_steps, pool_size, seed, report_every,
        cache_dir=None):
  """Returns ``[(round, step, error, seconds), ...]`` for one method (row 0: the untrained net)."""
  dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
  pde = problem()
  model = of.models.MLP(2, [64, 64, 64, 1], activation="tanh", param_dtype=dtype,
                        rngs=nnx.Rngs(seed))
  learner = of.Learner(model, pde, seed=seed)
  grid, exact = test_grid(dtype, cache_dir)

  def error(lrn):
    return relative_l2(np.asarray(lrn.predict(grid, batch_size=8192)).reshape(-1), exact)

  rows = [(-1, 0, error(learner), 0.0)]
  print(f"  {method:8s} untrained            rel. L2 {rows[0][2]:.3e}", flush=True)
  start = time.perf_counter()

  def report(r, lrn):
    if r % report_every == 0 or r == rounds:
      rows.append((r, lrn.step, error(lrn), time.perf_counter() - start))
      print(f"  {method:8s} round {r:3d}  step {lrn.step:6d}  rel. L2 {rows[-1][2]:.3e}"
            f"  ({rows[-1][3]:.0f} s)", flush=True)

  resampler = cb.RAD(every=1, k=1.0, c=1.0, pool_size=pool_size) if method == "RAD" else None
  of.recipes.resampling_rounds(
      learner, pde.sample(n_interior=N_RESIDUAL, seed=seed), resampler=resampler,
      rounds=rounds, first_adam_steps=first_adam, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps,
      adam=optax.adam(1e-3), lbfgs=optax.lbfgs(memory_size=100), on_round_end=report)
  return rows


def main(methods=("RAD",), rounds=5, first_adam=15000, adam_steps=1000, lbfgs_steps=1000,
         pool_size=100_000, seed=0, report_every=1, cache_dir=None):
  """Runs the methods and prints the table; returns ``{method: rows}`` (see ``run``)."""
  results = {}
  for method in methods:
    results[method] = run(method, rounds=rounds, first_adam=first_adam, adam_steps=adam_steps,
                          lbfgs_steps=lbfgs_steps, pool_size=pool_size, seed=seed,
                          report_every=report_every, cache_dir=cache_dir)
  dtype = "float64" if jax.config.jax_enable_x64 else "float32"
  print(f"\nAllen-Cahn D=1e-3, Wu et al. 2023 protocol ({dtype}, 3 x 64 tanh, hard IC/BC, "
        f"{N_RESIDUAL} points): Adam {first_adam} + L-BFGS {lbfgs_steps}, then {rounds} x "
        f"[resample; Adam {adam_steps}; L-BFGS {lbfgs_steps}] (paper: 100 rounds)")
  print("| method   | rel. L2 (ours) | paper (100 rounds) | wall time |")
  print("|----------|----------------|--------------------|-----------|")
  for method, rows in results.items():
    paper = "-" if PAPER[method] is None else f"{PAPER[method]:.1e}"
    print(f"| {method:8s} | {rows[-1][2]:.2e}       | {paper:18s} | {rows[-1][3]:7.0f} s |")
  return results


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", nargs="+", default=["RAD"], choices=METHODS)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--first-adam", type=int, default=15000)
  parser.add_argument("--adam-steps", type=int, default=1000)
  parser.add_argument("--lbfgs-steps", type=int, default=1000)
  parser.add_argument("--pool-size", type=int, default=100_000)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--report-every", type=int, default=1)
  parser.add_argument("--x32", action="store_true", help="float32 instead of the paper's float64")
  args = parser.parse_args()
  main(tuple(args.methods), args.rounds, args.first_adam, args.adam_steps, args.lbfgs_steps,
       args.pool_size, args.seed, args.report_every)
