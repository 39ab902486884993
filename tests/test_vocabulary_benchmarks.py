"""The problem-vocabulary benchmarks run end to end on a tiny budget."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load(name):
  spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_resample_csg_reports_the_plate_against_the_square(capsys):
  bench = load("resample_csg")
  ratios = bench.main(steps=5, repeats=1)
  assert ratios["square"] == 1.0 and ratios["plate with 4 holes"] > 0
  assert "plate with 4 holes" in capsys.readouterr().out
