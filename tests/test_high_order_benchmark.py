"""benchmarks/high_order_residuals.py runs end to end on a tiny budget and
reports a Learner / hand-loop ratio (the real runs time 500 steps of 2000 points)."""

import importlib.util
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load():
  sys.path.insert(0, str(ROOT / "benchmarks"))  # for its `scanned_loop` import
  spec = importlib.util.spec_from_file_location("high_order_residuals",
                                                ROOT / "benchmarks" / "high_order_residuals.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_benchmark_reports_learner_to_hand_ratio_for_both_residuals(capsys):
  bench = load()
  out = bench.main(steps=2, repeats=1, n_points=32, width=8, chunk=2, hands=("jet",), split=False)
  for case in ("ks", "ns"):
    rate, ratio = out[case]
    assert set(rate) == {"hand: jet, batched", "Learner.fit"}
    assert all(np.isfinite(r) and r > 0 for r in rate.values())
    assert ratio == rate["Learner.fit"] / rate["hand: jet, batched"]
  text = capsys.readouterr().out
  assert "ks: Learner / fastest hand loop (hand: jet, batched):" in text
  assert "ns: Learner / fastest hand loop" in text and "chunk compilations in the Learner: 1" in text
