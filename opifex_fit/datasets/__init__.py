"""Operator-learning datasets from solvers in this package, cached as ``.npz``.

Each is a pure function of its parameters and seed:

* ``burgers``: 1-D viscous Burgers ``u0 -> u(., T)`` (pseudo-spectral ETDRK4).
* ``darcy``: 2-D Darcy flow ``a -> u`` (finite differences, sparse direct solve).
* ``antiderivative``: ``v -> int_0^x v`` for DeepONet (exact spline integrals).
* ``allen_cahn``: periodic Allen-Cahn reference (jaxpi's PINN benchmark; Fourier ETDRK4).
* ``allen_cahn_dirichlet``: Allen-Cahn with ``u(+-1) = -1`` (Wu et al. 2023;
  Chebyshev collocation, matrix ETDRK4).
* ``read_comsol``: COMSOL text exports (PINNacle's reference solutions).
* ``scattered_to_grid``, ``grid_interpolator``: data-driven coefficients a
  residual can read (scattered nodes -> grid on the host; a traceable lookup).
* ``water_pes``, ``h2_pes``: SCF energies and forces from PySCF (the ``[chem]``
  extra; imported only when called), with the geometry samplers they use.
"""

from opifex_fit.datasets.allen_cahn import allen_cahn, solve_allen_cahn
from opifex_fit.datasets.allen_cahn_dirichlet import (
    allen_cahn_dirichlet,
    chebyshev_interpolate,
    solve_allen_cahn_dirichlet,
)
from opifex_fit.datasets.antiderivative import antiderivative
from opifex_fit.datasets.burgers import burgers, cole_hopf, solve_burgers
from opifex_fit.datasets.cache import cached, default_cache_dir
from opifex_fit.datasets.comsol import ComsolTable, read_comsol
from opifex_fit.datasets.darcy import darcy, solve_darcy
from opifex_fit.datasets.geometries import (
    h2_curve,
    random_displacements,
    water_displacements,
    water_equilibrium,
)
from opifex_fit.datasets.interpolation import grid_interpolator, scattered_to_grid
from opifex_fit.datasets.grf import neumann_grf_2d, periodic_grf_1d, rbf_grf_1d
from opifex_fit.datasets.normal_modes import normal_mode_displacements, vibrational_modes
from opifex_fit.datasets.pyscf_pes import compute_pes, h2_pes, hessian, single_point, water_pes

__all__ = ["allen_cahn", "allen_cahn_dirichlet", "antiderivative", "burgers", "cached",
           "chebyshev_interpolate", "cole_hopf", "compute_pes", "ComsolTable", "darcy",
           "default_cache_dir", "grid_interpolator", "h2_curve", "h2_pes", "hessian",
           "neumann_grf_2d", "normal_mode_displacements", "periodic_grf_1d",
           "random_displacements", "rbf_grf_1d", "read_comsol", "scattered_to_grid",
           "single_point", "solve_allen_cahn", "solve_allen_cahn_dirichlet", "solve_burgers",
           "solve_darcy", "vibrational_modes", "water_displacements", "water_equilibrium",
           "water_pes"]
