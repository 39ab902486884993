"""benchmarks/pinnacle: every case runs through the runner on a tiny budget, with
COMSOL-format stand-ins of PINNacle's reference files written here (the real
runs read PINNacle's ref/ folder; the default suite needs no data)."""

import math
import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks", "pinnacle"))

import run  # noqa: E402
import suite  # noqa: E402


def write_comsol(path, nodes, fields, names):
  header = ["% Model: stand-in.mph", f"% Dimension: {nodes.shape[1]}", "% " + "    ".join(names)]
  np.savetxt(path, np.concatenate([nodes, fields], axis=1), header="\n".join(header), comments="",
             fmt="%.8g")


def stand_ins(folder):
  """Small files in the formats of PINNacle's: steady fields, time sweeps, points."""
  rng = np.random.default_rng(0)
  square = rng.uniform(-1, 1, (30, 2))
  steady = {"poisson1_cg_data.dat": (run.CASES["Poisson2d-C"], ["X", "Y", "u (1)"]),
            "poisson_boltzmann2d.dat": (run.CASES["Poisson2d-CG"], ["X", "Y", "u (1)"]),
            "lid_driven_a4.dat": (run.CASES["NS2d-C"], ["x", "y", "u @ Re=100", "v @ Re=100",
                                                         "p @ Re=100"]),
            "ns_0_obstacle.dat": (run.CASES["NS2d-CG"], ["x", "y", "u (m/s)", "v (m/s)", "p (Pa)"])}
  for file, (case, names) in steady.items():
    nodes = case.setup("vanilla", 64, 0).problem.domain.sample_interior(30, seed=0)
    write_comsol(folder / file, nodes, rng.normal(size=(30, len(names) - 2)), names)
  times = [0, 0.5, 1]
  write_comsol(folder / "burgers1d.dat", square[:, :1], rng.normal(size=(30, 3)),
               ["X"] + [f"u (1) @ t={t}" for t in times])
  write_comsol(folder / "heat_longtime.dat", (square + 1) / 2, rng.normal(size=(30, 3)),
               ["X", "Y"] + [f"u (K) @ t={t}" for t in times])
  np.savetxt(folder / "heatinv_points.dat", np.concatenate([square, (square[:, :1] + 1) / 2], 1))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp("pinnacle_ref")
  stand_ins(folder)
  return folder


@pytest.mark.parametrize("name", list(run.CASES))
def test_every_case_runs_both_configurations_through_the_runner(name, data_dir):
  logged = []
  row = run.run_case(run.CASES[name], str(data_dir), steps=3, points=32, seeds=(0,), hidden=(8,),
                     log=logged.append)
  assert tuple(row) == run.COLUMNS and row["case"] == name
  errors = [float(row["ours vanilla"]), float(row["ours best"])]
  assert all(math.isfinite(e) and e > 0 for e in errors), row
  assert float(row["PINNacle vanilla"]) == run.CASES[name].PAPER.vanilla
  assert row["budget"].startswith(f"3 steps, {32 * run.CASES[name].MUL} domain pts, net 1x8")
  assert len(logged) == 2


def test_boundary_points_are_shared_by_measure_as_deepxde_does():
  # Poisson2d-C: 200 boundary points over the square's perimeter 4 and the rims' 0.8 pi
  data = suite.pinnacle_points(run.CASES["Poisson2d-C"].setup("vanilla", 8, 0).problem, 800,
                               shares=run.CASES["Poisson2d-C"].SHARES)
  assert (len(data["pde"]), len(data["square"]), len(data["holes"])) == (800, 123, 77)
  # Wave1d-C: half of the rectangle's perimeter on x = 0, 1, a quarter at t = 0 per term
  data = run.CASES["Wave1d-C"].setup("vanilla", 64, 0).data
  assert {k: len(v) for k, v in data.items()} == {"pde": 64, "bc": 8, "ic": 4, "ic_t": 4}


def test_relative_l2_takes_all_outputs_together_and_drops_nan_rows():
  ref = np.array([[3.0, 0.0], [np.nan, 1.0], [0.0, 4.0]])
  pred = np.array([[3.0, 0.0], [9.0, 9.0], [0.0, 3.0]])
  assert suite.relative_l2(pred, ref) == pytest.approx(1 / 5)


def test_exact_conditions_of_the_best_configurations_hold_on_the_boundary():
  cg = run.CASES["Poisson2d-CG"].setup("best", 8, 0).problem.output_transform
  assert float(cg(jnp.array([1.0, 0.0]), 7.0)) == pytest.approx(0.2, abs=1e-6)  # square
  assert float(cg(jnp.array([0.7, 0.5]), 7.0)) == pytest.approx(1.0, abs=1e-6)  # rim of disk 1
  lid = run.CASES["NS2d-C"].exact_walls(jnp.array([0.5, 1.0]), jnp.array([5.0, 5.0, 2.0]))
  assert lid.tolist() == [1.0, 0.0, 2.0]
  wave = run.CASES["Wave1d-C"].setup("best", 8, 0).problem.output_transform
  assert float(wave(jnp.array([0.125, 0.0]), 9.0)) == pytest.approx(math.sin(math.pi / 8) + 0.5)
