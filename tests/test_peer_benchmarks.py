"""The peer benchmarks run end to end on a tiny budget (the real runs are in benchmarks/peers)."""

import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load(name):
  spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "peers" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_time_to_accuracy_measures_opifex_with_per_step_resampling():
  # The "fixed" recipe is the same trainer without the Resample callback.
  bench = load("deepxde_burgers_time_to_accuracy")
  points, grid, exact = bench.problem_data(n_points=64, seed=0)
  reached, curve = bench.time_to_targets("opifex-fit", bench.opifex_trainer(points, "resample"),
                                         grid, exact, max_steps=20, every=10)
  assert [step for step, _, _ in curve] == [10, 20]
  assert all(np.isfinite(err) and 0 < err < 2 for _, _, err in curve)
  assert curve[1][1] > curve[0][1] > 0  # training seconds accumulate
  assert reached == {}  # 20 steps reach neither 1e-2 nor 1e-3


@pytest.mark.slow  # compiles Adam, L-BFGS and RAD (~20 s): kept out of the default run
def test_time_to_accuracy_on_wu_rounds_times_training_and_not_evaluation():
  bench = load("deepxde_burgers_time_to_accuracy")
  points, grid, exact = bench.problem_data(n_points=64, seed=0)
  reached, curve = bench.rounds_to_targets(points, grid, exact, rounds=2, first_adam=20, phase=10,
                                           pool_size=256)
  assert [step for step, _, _ in curve] == [30, 50, 70]  # after each round's Adam + L-BFGS
  assert all(np.isfinite(err) for _, _, err in curve)
  assert 0 < curve[0][1] < curve[1][1] < curve[2][1]
  assert reached == {t: next((s, sec) for s, sec, e in curve if e <= t)
                     for t in bench.TARGETS if any(e <= t for _, _, e in curve)}


def test_time_to_accuracy_runs_deepxde_when_installed():
  pytest.importorskip("deepxde")
  bench = load("deepxde_burgers_time_to_accuracy")
  import deepxde as dde

  if dde.backend.backend_name != "jax":
    pytest.skip(f"DeepXDE was imported with the {dde.backend.backend_name} backend")
  dde.config.set_default_float("float32")
  points, grid, exact = bench.problem_data(n_points=64, seed=0)
  _, curve = bench.time_to_targets("DeepXDE", bench.deepxde_trainer(points, dde, "resample"), grid,
                                   exact, max_steps=20, every=10)
  assert len(curve) == 2 and all(np.isfinite(err) for _, _, err in curve)


@pytest.mark.slow  # compiles Adam, L-BFGS and the hand-written loss (~20 s): not by default
def test_lbfgs_against_scipy_runs_both_arms_from_the_same_weights(capsys):
  bench = load("scipy_lbfgs_burgers")
  rows = bench.main(adam_steps=20, steps=20, n_points=64, seed=0)  # one chunk length: one compile
  start, ours, theirs = rows.values()
  for value, err, seconds, iterations in (ours, theirs):
    assert np.isfinite(value) and 0 < err < 2 and seconds > 0 and 0 < iterations <= 20
    assert value < start[0]  # both descend from the same Adam-trained weights
  assert ours[3] == 20
  assert "scipy / opifex-fit wall time" in capsys.readouterr().out


@pytest.mark.slow  # as above, plus a round of the RAD protocol
def test_lbfgs_against_scipy_from_a_rad_round_starts_on_the_resampled_points(capsys):
  bench = load("scipy_lbfgs_burgers")
  learner, points = bench.trained(20, 64, 0, rad_rounds=1, round_steps=20, pool_size=512)
  # the first phase, one round, then the resample and Adam that round 2's L-BFGS starts from
  assert learner.step == (20 + 20) + (20 + 20) + 20 and points.shape == (64, 2)
  uniform = learner.problem.sample(n_interior=64, seed=0)["pde"]
  assert not np.allclose(points, uniform)  # RAD replaced the first uniform points
  rows = bench.main(adam_steps=20, steps=20, n_points=64, seed=0, rad_rounds=1, round_steps=20,
                    pool_size=512)
  start, ours, theirs = rows.values()
  assert ours[0] < start[0] and theirs[0] < start[0]
  assert "RAD points, after 1 rounds" in capsys.readouterr().out
