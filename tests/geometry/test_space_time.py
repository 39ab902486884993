import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import opifex_fit as of


def test_disk_times_interval():
  st = of.Disk((0.0, 0.0), 1.0, name="wall") * of.Interval("t", 1.0, 3.0)
  assert st.names == ("x", "y", "t") and st.has_time and st.spatial == ("x", "y")
  assert st.measure == pytest.approx(2 * math.pi) and st.spatial_measure == pytest.approx(math.pi)
  assert st.part_measure("wall") == pytest.approx(4 * math.pi)
  wall = st.sample_boundary(200, on="wall", seed=0, method="sobol")
  np.testing.assert_allclose(np.hypot(wall[:, 0], wall[:, 1]), 1.0, atol=1e-12)
  assert wall[:, 2].min() >= 1.0 and wall[:, 2].max() <= 3.0 and st.on_boundary(wall).all()
  ic = st.sample_initial(50, seed=0)
  assert np.all(ic[:, 2] == 1.0) and np.all(np.hypot(ic[:, 0], ic[:, 1]) <= 1)
  np.testing.assert_allclose(np.asarray(st.normals(np.array([[0.0, -1.0, 2.0]]))), [[0, -1, 0]], atol=1e-6)
  assert float(st.distance(np.array([0.0, 0.0, 2.5]))) == pytest.approx(0.5)
  assert st.contains(np.array([[0.0, 0.0, 3.5], [0.0, 0.0, 2.0]])).tolist() == [False, True]


def test_csg_times_interval_and_device_initial():
  plate = of.Box({"x": (0, 1), "y": (0, 1)}) - of.Disk((0.5, 0.5), 0.2, name="hole")
  st = plate * of.Interval("t", 0.0, 1.0)
  key = jax.random.key(0)
  ic = np.asarray(jax.jit(lambda k: st.device_initial(k, 100, jnp.float32))(key))
  assert ic.shape == (100, 3) and np.all(ic[:, 2] == 0) and plate.contains(ic[:, :2]).all()
  rim = st.sample_boundary(30, on="hole", seed=0)
  np.testing.assert_allclose(np.hypot(rim[:, 0] - 0.5, rim[:, 1] - 0.5), 0.2, atol=1e-12)


def test_box_times_interval_is_a_box():
  box = of.Box({"x": (0, 1)}, name="rod") * of.Interval("t", 0, 2)
  assert isinstance(box, of.Box) and box.names == ("x", "t") and box.name == "rod"


def test_bad_products():
  with pytest.raises(ValueError, match="time interval"):
    of.Disk((0, 0), 1) * of.Interval("z", 0, 1)
  with pytest.raises(TypeError, match="1-D of.Interval"):
    of.Disk((0, 0), 1) * of.Disk((0, 0), 1)
  with pytest.raises(ValueError, match="already in the domain"):
    of.Box({"x": (0, 1)}) * of.Interval("x", 0, 1)
