import numpy as np
import pytest

from opifex_fit.datasets import darcy, solve_darcy
from opifex_fit.datasets.darcy import darcy_matrix


def _manufactured(n):
  """u = sin(pi x) sin(2 pi y), a = 1 + sin(2 pi x) cos(pi y) / 2, f = -div(a grad u)."""
  x = np.linspace(0, 1, n)
  X, Y = np.meshgrid(x, x, indexing="ij")
  pi = np.pi
  a = 1 + 0.5 * np.sin(2 * pi * X) * np.cos(pi * Y)
  a_x, a_y = pi * np.cos(2 * pi * X) * np.cos(pi * Y), -0.5 * pi * np.sin(2 * pi * X) * np.sin(pi * Y)
  u = np.sin(pi * X) * np.sin(2 * pi * Y)
  u_x, u_y = pi * np.cos(pi * X) * np.sin(2 * pi * Y), 2 * pi * np.sin(pi * X) * np.cos(2 * pi * Y)
  f = -(a_x * u_x + a_y * u_y + a * (-5 * pi**2 * u))
  return a, f, u


def test_manufactured_solution_converges_at_second_order():
  errors = []
  for n in (17, 33, 65):
    a, f, u = _manufactured(n)
    errors.append(np.abs(solve_darcy(a, f) - u).max())
  assert errors[-1] < 1e-3
  rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
  np.testing.assert_allclose(rates, 2.0, atol=0.1)


def test_matrix_is_symmetric_and_conservative():
  a = np.random.default_rng(0).uniform(1, 5, (7, 7))
  m = darcy_matrix(a).toarray()
  np.testing.assert_allclose(m, m.T)
  assert np.all(np.linalg.eigvalsh(m) > 0)


def test_dataset_shapes_values_and_cache(tmp_path):
  a, u = darcy(3, resolution=9, refine=2, seed=1, cache_dir=tmp_path)
  assert a.shape == u.shape == (3, 9, 9, 1) and a.dtype == np.float32
  assert set(np.unique(a)) <= {3.0, 12.0}
  assert np.all(u[:, 0] == 0) and np.all(u[:, :, -1] == 0)
  assert np.all(u[:, 1:-1, 1:-1] > 0)                 # maximum principle for f = 1 > 0
  a2, u2 = darcy(3, resolution=9, refine=2, seed=1, cache_dir=tmp_path)
  np.testing.assert_array_equal(u2, u)
  assert len(list(tmp_path.glob("darcy-*.npz"))) == 1
  # The coarse data is the fine solve subsampled.
  fine_a, fine_u = darcy(3, resolution=17, refine=1, seed=1, cache_dir=None)
  np.testing.assert_array_equal(fine_a[:, ::2, ::2], a)
  np.testing.assert_allclose(fine_u[:, ::2, ::2], u, rtol=1e-6)


def test_bad_arguments():
  with pytest.raises(ValueError, match="positive"):
    solve_darcy(-np.ones((5, 5)))
  with pytest.raises(ValueError, match="square"):
    solve_darcy(np.ones((5, 4)))
