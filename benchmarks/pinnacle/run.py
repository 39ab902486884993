"""Runs PINNacle cases (Hao et al., NeurIPS 2024 Datasets and Benchmarks) through the
public API and prints ours beside the published numbers.

  python benchmarks/pinnacle/run.py PINNACLE_REF_DIR --cases Poisson2d-C NS2d-C \
      --steps 20000 --points 8192 --seeds 0 1 2 --out results/

``--points`` is PINNacle's base count (8192): a case uses ``points * MUL`` in
its domain and a quarter of that on its boundary and at t = 0 (``suite.py``).
The defaults are PINNacle's whole budget; on 2 CPU cores a reduced one
(``--steps 2000 --points 2048``) finishes each case in minutes. Each row names
its budget; the error is the mean over seeds (std beside it when there are
several). Writes ``pinnacle.md`` and ``pinnacle.csv`` into ``--out``.
"""

import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import burgers1d_c  # noqa: E402
import heat2d_lt  # noqa: E402
import heat2d_ms  # noqa: E402
import hinv  # noqa: E402
import hnd  # noqa: E402
import ns2d_c  # noqa: E402
import ns2d_cg  # noqa: E402
import pinv  # noqa: E402
import pnd  # noqa: E402
import poisson2d_c  # noqa: E402
import poisson2d_cg  # noqa: E402
import suite  # noqa: E402
import wave1d_c  # noqa: E402
import wave2d_ms  # noqa: E402

# the priority order
CASES = {c.NAME: c for c in (burgers1d_c, poisson2d_c, ns2d_c, poisson2d_cg, heat2d_ms, pnd, hnd,
                             wave1d_c, ns2d_cg, heat2d_lt, wave2d_ms, pinv, hinv)}
COLUMNS = ("case", "ours vanilla", "ours best", "best tools", "PINNacle vanilla", "PINNacle best",
           "wall time (s)", "budget")


def summary(errors):
  errors = np.asarray(errors)
  text = f"{errors.mean():.2e}"
  return text + (f" +- {errors.std():.1e}" if len(errors) > 1 else "")


def run_case(case, data_dir, steps, points, seeds, hidden=suite.PINNACLE_HIDDEN, log=print):
  """One row of the table: both configurations over ``seeds``."""
  results = {config: [suite.train(case, config, steps, points, seed, data_dir, hidden)
                      for seed in seeds] for config in suite.CONFIGS}
  for config, rs in results.items():
    log(f"  {case.NAME:12s} {config:8s} " + "  ".join(f"{r.error:.3e} ({r.seconds:.0f} s)"
                                                       for r in rs))
  width = f"{len(hidden)}x{hidden[0]}" if len(set(hidden)) == 1 else "-".join(map(str, hidden))
  budget = (f"{steps} steps, {points * case.MUL} domain pts, net {width}, "
            f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}")
  return dict(zip(COLUMNS, (
      case.NAME, summary([r.error for r in results["vanilla"]]),
      summary([r.error for r in results["best"]]), case.BEST_TOOLS, f"{case.PAPER.vanilla:.2e}",
      f"{case.PAPER.best:.2e} ({case.PAPER.method})",
      " / ".join(f"{np.mean([r.seconds for r in rs]):.0f}" for rs in results.values()), budget)))


def markdown(rows):
  lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
  lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
  return "\n".join(lines)


def write(rows, out_dir):
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "pinnacle.md"), "w", encoding="utf-8") as f:
    f.write(markdown(rows) + "\n")
  with open(os.path.join(out_dir, "pinnacle.csv"), "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


def main(data_dir, cases=tuple(CASES), steps=suite.PINNACLE_STEPS, points=suite.PINNACLE_POINTS,
         seeds=(0,), out=".", hidden=suite.PINNACLE_HIDDEN):
  unknown = [c for c in cases if c not in CASES]
  if unknown:
    raise ValueError(f"cases must be among {list(CASES)}; got unknown {unknown}")
  if not os.path.isdir(data_dir):
    raise ValueError(f"data_dir must be PINNacle's ref/ folder; {data_dir!r} is not a directory")
  rows = [run_case(CASES[name], data_dir, steps, points, seeds, hidden) for name in cases]
  print(f"\nPINNacle suite (wall time: vanilla / best, mean per seed)\n{markdown(rows)}")
  write(rows, out)
  return rows


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("data_dir", help="PINNacle's ref/ folder (../shared/data/pinnacle)")
  parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
  parser.add_argument("--steps", type=int, default=suite.PINNACLE_STEPS)
  parser.add_argument("--points", type=int, default=suite.PINNACLE_POINTS)
  parser.add_argument("--seeds", type=int, nargs="+", default=[0])
  parser.add_argument("--hidden", type=int, nargs="+", default=list(suite.PINNACLE_HIDDEN))
  parser.add_argument("--out", default=".", help="folder for pinnacle.md and pinnacle.csv")
  args = parser.parse_args()
  main(args.data_dir, args.cases, args.steps, args.points, args.seeds, args.out, tuple(args.hidden))
