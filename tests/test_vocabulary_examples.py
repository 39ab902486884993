"""Smoke runs of the problem-vocabulary examples (geometry, conditions, high-order
keys). The real runs read PINNacle's reference folder; these write a small
COMSOL-format stand-in of it, so the default suite needs no data."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))

import lid_driven_cavity  # noqa: E402


def write_comsol(path, coordinates, fields, names):
  header = ["% Model: stand-in.mph", f"% Dimension: {coordinates.shape[1]}",
            "% " + "    ".join(names)]
  rows = np.concatenate([coordinates, fields], axis=1)
  np.savetxt(path, rows, header="\n".join(header), comments="", fmt="%.8g")


def test_lid_driven_cavity_runs_and_scores_all_three_outputs(tmp_path):
  nodes = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5)), -1).reshape(-1, 2)
  fields = np.stack([nodes[:, 1], -nodes[:, 0], nodes[:, 0] + 1], -1)
  write_comsol(tmp_path / "lid_driven_a4.dat", nodes, fields,
               ["x", "y", "u @ Re=100", "v @ Re=100", "p @ Re=100"])
  out = lid_driven_cavity.main(str(tmp_path), steps=20, points=64)
  assert 0 < out["rel_l2"] < 10 and len(out["per_output"]) == 3
  # the three per-output errors and the joint one are consistent (joint within their range)
  assert min(out["per_output"]) <= out["rel_l2"] <= max(out["per_output"])


def test_poisson_holes_runs_both_configurations(tmp_path):
  import poisson_holes

  nodes = poisson_holes.plate().sample_interior(40, seed=0)
  write_comsol(tmp_path / "poisson1_cg_data.dat", nodes, nodes[:, :1] ** 2, ["X", "Y", "u (1)"])
  errors = poisson_holes.main(str(tmp_path), steps=20, points=64)
  assert set(errors) == {"vanilla", "exact BC"} and all(0 < e < 10 for e in errors.values())


def test_poisson_holes_exact_bc_meets_the_data_on_every_rim():
  """u = 1 on the square and 0 on the four rims whatever the network says."""
  import jax.numpy as jnp
  from flax import nnx

  import opifex_fit as of
  import poisson_holes

  problem, _, _ = poisson_holes.setup("exact BC", 64, 0)
  model = of.models.MLP(2, [16, 1], rngs=nnx.Rngs(3))
  domain = problem.domain
  square = domain.sample_boundary(200, on="square", seed=1)
  rims = domain.sample_boundary(200, on="holes", seed=2)
  np.testing.assert_allclose(problem.predict(model, jnp.asarray(square, jnp.float32)), 1.0, atol=1e-5)
  np.testing.assert_allclose(problem.predict(model, jnp.asarray(rims, jnp.float32)), 0.0, atol=1e-5)


def test_robin_annulus_runs_and_reports_its_error():
  import robin_annulus

  assert 0 < robin_annulus.main(steps=30, points=128) < 2


def test_point_cloud_neumann_splits_the_nodes_and_runs(tmp_path):
  import poisson_holes
  import point_cloud_neumann

  plate = poisson_holes.plate()
  nodes = np.concatenate([plate.sample_interior(60, seed=0), plate.sample_boundary(40, seed=1)])
  write_comsol(tmp_path / "poisson1_cg_data.dat", nodes, nodes[:, :1], ["X", "Y", "u (1)"])
  cloud = point_cloud_neumann.cloud_from_nodes(nodes)
  assert len(cloud.interior) == 60 and len(cloud.boundary) == 40
  np.testing.assert_allclose(cloud.boundary_normals, plate.normals(cloud.boundary), atol=1e-6)
  assert 0 < point_cloud_neumann.main(str(tmp_path), steps=20) < 10


def test_euler_beam_fourth_order_learns_the_cantilever():
  import euler_beam

  assert euler_beam.main(steps=400, points=32) < 0.5


@pytest.mark.slow
def test_euler_beam_reaches_its_target_at_deepxdes_budget():
  import euler_beam

  assert euler_beam.main() < 1e-2
