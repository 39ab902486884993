import numpy as np
import pytest

from opifex_fit.datasets import cached, default_cache_dir


def test_make_runs_once_and_files_are_named_by_parameters(tmp_path):
  calls = []

  def make():
    calls.append(1)
    return {"x": np.arange(3.0)}

  first = cached("demo", {"n": 3, "seed": 0}, make, tmp_path)
  second = cached("demo", {"n": 3, "seed": 0}, make, tmp_path)
  np.testing.assert_array_equal(first["x"], second["x"])
  assert len(calls) == 1
  assert (tmp_path / "demo-n3-seed0.npz").exists()
  cached("demo", {"n": 3, "seed": 1}, make, tmp_path)
  assert len(calls) == 2
  assert not list(tmp_path.glob(".*tmp*"))               # written atomically


def test_no_cache_and_default_dir(tmp_path, monkeypatch):
  out = cached("demo", {"n": 1}, lambda: {"x": np.ones(1)}, None)
  assert out["x"].shape == (1,)
  monkeypatch.setenv("OPIFEX_FIT_DATA", str(tmp_path))
  assert default_cache_dir() == tmp_path
  monkeypatch.delenv("OPIFEX_FIT_DATA")
  assert default_cache_dir().parts[-2:] == ("examples", "data")
  with pytest.raises(TypeError, match="cache_dir"):
    cached("demo", {"n": 1}, lambda: {}, 3)
