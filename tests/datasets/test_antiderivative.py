import numpy as np

from opifex_fit.datasets import antiderivative
from opifex_fit.datasets.antiderivative import antiderivative_splines


def test_splines_integrate_cubics_exactly():
  knots = np.linspace(0, 1, 9)
  v = np.stack([knots**3 - knots, 2 * knots**2 + 1])
  _, u = antiderivative_splines(v, knots)
  x = np.linspace(0, 1, 37)
  np.testing.assert_allclose(u(x), [x**4 / 4 - x**2 / 2, 2 * x**3 / 3 + x], atol=1e-13)


def test_dataset_shapes_and_fundamental_theorem(tmp_path):
  (v, y), u = antiderivative(6, n_sensors=101, n_queries=101, seed=2, cache_dir=tmp_path)
  assert v.shape == (6, 101) and y.shape == (6, 101, 1) and u.shape == (6, 101)
  np.testing.assert_array_equal(y[3, :, 0], np.linspace(0, 1, 101, dtype=np.float32))
  np.testing.assert_allclose(u[:, 0], 0.0, atol=1e-7)
  # Sensors and queries are the same grid here: d/dx u = v to O(h^2).
  du = np.gradient(u.astype(np.float64), 0.01, axis=1)
  np.testing.assert_allclose(du[:, 1:-1], v[:, 1:-1], atol=2e-3)
  (v2, _), u2 = antiderivative(6, n_sensors=101, n_queries=101, seed=2, cache_dir=tmp_path)
  np.testing.assert_array_equal(u2, u)
  assert len(list(tmp_path.glob("antiderivative-*.npz"))) == 1
