"""The DeepONet antiderivative operator ``v -> u(x) = int_0^x v(s) ds`` on [0, 1].

Following Lu et al. (2021), ``v`` is a squared-exponential Gaussian random
field (length scale 0.2) read at ``m`` equispaced sensors. Here each ``v`` is
the cubic spline through a GRF sample on ``n_knots`` points, so its
antiderivative is a piecewise quartic known in closed form and the targets are
exact up to round-off (no ODE solver or quadrature error).

Example:
  >>> (v, y), u = antiderivative(16, cache_dir=None)
  >>> v.shape, y.shape, u.shape
  ((16, 100), (16, 100, 1), (16, 100))
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from opifex_fit.datasets.cache import DEFAULT, cached
from opifex_fit.datasets.grf import _check_count, rbf_grf_1d


def antiderivative_splines(v_knots: np.ndarray, knots: np.ndarray):
  """The cubic splines through ``v_knots`` (``(n, k)`` at ``knots``) and their
  antiderivatives that vanish at ``knots[0]``."""
  spline = CubicSpline(knots, v_knots, axis=1)
  return spline, spline.antiderivative()


def antiderivative(n_samples: int, *, n_sensors: int = 100, n_queries: int = 100,
                   length_scale: float = 0.2, n_knots: int = 200, seed: int = 0,
                   cache_dir=DEFAULT):
  """``((v_sensors, y), u)`` in DeepONet's aligned form, float32.

  ``v_sensors`` is ``(n_samples, n_sensors)`` at ``linspace(0, 1, n_sensors)``;
  ``y`` is the query grid ``linspace(0, 1, n_queries)``, the same for every
  function, repeated to ``(n_samples, n_queries, 1)`` so that ``(v, y)``
  shares one leading dimension and minibatches like any supervised data
  (``y[:1]`` is the shared ``(1, P, 1)`` form, for which ``DeepONet`` runs
  its trunk once); ``u`` is ``(n_samples, n_queries)``, the exact
  antiderivative at ``y``. Deterministic from ``seed``, cached in ``cache_dir``.
  """
  n_samples = _check_count(n_samples, "n_samples")
  n_sensors = _check_count(n_sensors, "n_sensors", 2)
  n_queries = _check_count(n_queries, "n_queries", 1)
  n_knots = _check_count(n_knots, "n_knots", 4)

  def make():
    rng = np.random.default_rng(seed)
    knots = np.linspace(0.0, 1.0, n_knots)
    v, u = antiderivative_splines(rbf_grf_1d(n_samples, knots, length_scale=length_scale,
                                             rng=rng), knots)
    sensors = np.linspace(0.0, 1.0, n_sensors)
    queries = np.linspace(0.0, 1.0, n_queries)
    return {"v": v(sensors).astype(np.float32), "u": u(queries).astype(np.float32)}

  params = {"n": n_samples, "m": n_sensors, "P": n_queries, "l": length_scale,
            "knots": n_knots, "seed": seed}
  data = cached("antiderivative", params, make, cache_dir)
  y = np.linspace(0.0, 1.0, n_queries, dtype=np.float32)[None, :, None]
  return (data["v"], np.repeat(y, n_samples, axis=0)), data["u"]
