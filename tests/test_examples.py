"""The examples reach their targets against their reference solutions.

The fast ones run whole in the default suite; the long accuracy runs are
marked slow (``python -m pytest -m slow``), each with a small version here
that runs the same script end to end.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))

import burgers_pinnacle  # noqa: E402
import deeponet_antiderivative  # noqa: E402
import fno_burgers  # noqa: E402
import fno_darcy  # noqa: E402
import multilevel_poisson  # noqa: E402
import regression  # noqa: E402


def test_deeponet_antiderivative_reaches_its_target(tmp_path):
  # The whole example (500/1000 functions, 10000 steps): seconds with shared queries.
  assert deeponet_antiderivative.main(cache_dir=tmp_path, verbose=0) <= 1e-2


def test_burgers_pinnacle_runs_both_configurations():
  errors = burgers_pinnacle.main(steps=100, points=256)
  assert set(errors) == {"vanilla", "tools"} and all(0 < e < 1.5 for e in errors.values())


@pytest.mark.slow
def test_burgers_pinnacle_tools_beat_the_vanilla_pinn_on_a_short_budget():
  errors = burgers_pinnacle.main(steps=5000, points=4096)
  assert errors["tools"] < errors["vanilla"]


def test_regression_reaches_its_target():
  result = regression.main(epochs=1000, verbose=0)
  assert result["val"] < 1e-3 and result["rel_l2"] < 3e-2


def test_multilevel_poisson_compares_both_runs_end_to_end():
  # A reduced budget: 3 levels in 300 steps, an unreachable target (both run to the end).
  results = multilevel_poisson.main(steps=300, target=1e-9, levels=(100, 200), n_points=128,
                                    seeds=(0,))
  multi, finest = results[0]["multilevel"], results[0]["finest"]
  assert multi["compiles"] == 3 and finest["compiles"] == 1
  assert multi["widths"] == finest["widths"] == [64, 64, 1]
  for r in (multi, finest):
    assert r["seconds"] is None and r["total_steps"] == 300 and r["error"] < 1.0


def test_fno_burgers_runs_end_to_end_from_host_memory(tmp_path):
  before = fno_burgers.main(epochs=1, n_train=40, n_test=10, batch_size=10, cache_dir=tmp_path,
                            verbose=0, host_data=True)
  assert all(np.isfinite(e) and e < 1.0 for e in before)


@pytest.mark.slow
def test_fno_burgers_reaches_its_target():
  error_256, error_512 = fno_burgers.main(verbose=0)
  assert error_256 <= 2e-2 and error_512 <= 2e-2


@pytest.mark.slow
def test_fno_darcy_reaches_its_target():
  assert fno_darcy.main(verbose=0) <= 3e-2
