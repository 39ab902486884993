"""Operator-learning datasets from solvers in this package, cached as ``.npz``.

Each is a pure function of its parameters and seed:

* ``burgers``: 1-D viscous Burgers ``u0 -> u(., T)`` (pseudo-spectral ETDRK4).
* ``darcy``: 2-D Darcy flow ``a -> u`` (finite differences, sparse direct solve).
* ``antiderivative``: ``v -> int_0^x v`` for DeepONet (exact spline integrals).
"""

from opifex_fit.datasets.antiderivative import antiderivative
from opifex_fit.datasets.burgers import burgers, cole_hopf, solve_burgers
from opifex_fit.datasets.cache import cached, default_cache_dir
from opifex_fit.datasets.darcy import darcy, solve_darcy
from opifex_fit.datasets.grf import neumann_grf_2d, periodic_grf_1d, rbf_grf_1d

__all__ = ["antiderivative", "burgers", "cached", "cole_hopf", "darcy", "default_cache_dir",
           "neumann_grf_2d", "periodic_grf_1d", "rbf_grf_1d", "solve_burgers", "solve_darcy"]
