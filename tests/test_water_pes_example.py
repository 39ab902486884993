"""examples/water_pes.py end to end on a tiny PySCF data set (seconds)."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("pyscf")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))

import water_pes


def test_water_pes_example_prints_its_table(tmp_path, capsys):
  rows = water_pes.main(n_geometries=24, sizes=(6, 12), n_val=4, n_test=8, steps=300,
                        cache_dir=tmp_path)
  out = capsys.readouterr().out
  assert "N train" in out and "KRR" in out and len(rows) == 2
  assert [r["n"] for r in rows] == [6, 12]
  for r in rows:
    assert all(np.isfinite(r[k]) for k in ("nn_e", "nn_f", "krr_e", "krr_f"))
    assert r["reached"] is None or 20 <= r["reached"] <= 300
  # More data, the same budget: the NN's force error does not get worse by much,
  # and both models beat predicting the mean energy (spread ~10 kcal/mol).
  assert rows[1]["nn_f"] < 1.5 * rows[0]["nn_f"]
  assert max(rows[1]["nn_e"], rows[1]["krr_e"]) < 8.0
