"""2-D Darcy flow ``-div(a grad u) = f`` on the unit square, ``u = 0`` on the boundary.

The operator-learning benchmark of Li et al. (ICLR 2021): learn ``a -> u`` for
piecewise-constant permeability ``a = 12`` where a Neumann GRF
``N(0, (-Laplacian + 9 I)^(-2))`` is non-negative and ``a = 3`` elsewhere,
``f = 1``.

Solver: the conservative five-point finite-difference scheme on the node grid
``linspace(0, 1, n)^2`` with the face coefficient the harmonic mean of its two
nodes (the flux-continuous choice across jumps of ``a``), solved with a sparse
direct solver (``scipy.sparse.linalg.spsolve``). It is second-order for smooth
``a``, which the tests check against a manufactured solution. As in the paper,
data is solved on a grid ``refine`` times finer and subsampled.

Example:
  >>> a, u = darcy(4, resolution=17, refine=2, cache_dir=None)
  >>> a.shape, u.shape
  ((4, 17, 17, 1), (4, 17, 17, 1))
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.grf import _check_count, neumann_grf_2d


def darcy_matrix(a: np.ndarray) -> sp.csr_matrix:
  """The operator ``-div(a grad .)`` on the interior nodes, row-major, times ``h^2``."""
  n = a.shape[0]
  m = n - 2                                           # interior nodes per axis
  harm = lambda p, q: 2.0 * p * q / (p + q)           # noqa: E731
  ax = harm(a[:-1, :], a[1:, :])                       # faces between (i, j), (i+1, j)
  ay = harm(a[:, :-1], a[:, 1:])                       # faces between (i, j), (i, j+1)
  east, west = ax[1:, 1:-1], ax[:-1, 1:-1]             # (m, m) for interior nodes
  north, south = ay[1:-1, 1:], ay[1:-1, :-1]
  idx = np.arange(m * m).reshape(m, m)
  rows, cols, vals = [idx.ravel()], [idx.ravel()], [(east + west + north + south).ravel()]
  for coef, di, dj in ((east, 1, 0), (west, -1, 0), (north, 0, 1), (south, 0, -1)):
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    ok = (0 <= i + di) & (i + di < m) & (0 <= j + dj) & (j + dj < m)
    rows.append(idx[ok])
    cols.append(idx[(i + di)[ok], (j + dj)[ok]])
    vals.append(-coef[ok])
  return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(m * m, m * m))


def solve_darcy(a: np.ndarray, f=1.0) -> np.ndarray:
  """Solves ``-div(a grad u) = f``, ``u = 0`` on the boundary; returns ``u`` on the nodes.

  Args:
    a: permeability at the nodes of ``linspace(0, 1, n)^2``, shape ``(n, n)``,
      positive.
    f: source, a number or an ``(n, n)`` array of node values.
  """
  a = np.asarray(a, dtype=np.float64)
  if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 3:
    raise ValueError(f"a must be a square (n, n) node array with n >= 3; got shape {a.shape}")
  if not np.all(a > 0):
    raise ValueError(f"a must be positive everywhere; got min {a.min()}")
  n = a.shape[0]
  f = np.broadcast_to(np.asarray(f, dtype=np.float64), (n, n))
  h = 1.0 / (n - 1)
  u = np.zeros((n, n))
  u[1:-1, 1:-1] = spla.spsolve(darcy_matrix(a).tocsc(),
                               h**2 * f[1:-1, 1:-1].ravel()).reshape(n - 2, n - 2)
  return u


def threshold_permeability(field: np.ndarray, high: float = 12.0, low: float = 3.0):
  """Li et al.'s map: ``high`` where the field is non-negative, ``low`` elsewhere."""
  return np.where(field >= 0, high, low)


def darcy(n_samples: int, resolution: int = 33, *, refine: int = 4, seed: int = 0,
          alpha: float = 2.0, tau: float = 3.0, cache_dir=DEFAULT):
  """``(a, u)``, each float32 ``(n_samples, resolution, resolution, 1)``.

  Permeabilities are drawn and the equation solved on the node grid of
  ``(resolution - 1) * refine + 1`` points per axis; both are then subsampled
  by ``refine`` (the paper solves at 421 and subsamples to 85 with
  ``refine=5``). Deterministic from ``seed``, cached in ``cache_dir``.
  """
  n_samples = _check_count(n_samples, "n_samples")
  resolution = _check_count(resolution, "resolution", 3)
  refine = _check_count(refine, "refine")
  fine = (resolution - 1) * refine + 1

  def make():
    rng = np.random.default_rng(seed)
    a = threshold_permeability(neumann_grf_2d(n_samples, fine, alpha=alpha, tau=tau, rng=rng))
    u = np.stack([solve_darcy(ai) for ai in a])
    return {"a": a[:, ::refine, ::refine].astype(np.float32),
            "u": u[:, ::refine, ::refine].astype(np.float32)}

  params = {"n": n_samples, "s": resolution, "refine": refine, "seed": seed,
            "alpha": alpha, "tau": tau}
  data = cached("darcy", params, make, cache_dir)
  return data["a"][..., None], data["u"][..., None]
