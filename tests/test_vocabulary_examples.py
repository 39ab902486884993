"""Smoke runs of the problem-vocabulary examples (geometry, conditions, high-order
keys). The real runs read PINNacle's reference folder; these write a small
COMSOL-format stand-in of it, so the default suite needs no data."""

import os
import sys

import numpy as np

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
