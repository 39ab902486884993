"""opifex-fit: one jitted loop, every feature a callback.

  >>> import opifex_fit as of
  >>> from opifex_fit import callbacks as cb
"""

from opifex_fit import callbacks, datasets, geometry, models, problems, recipes, writers
from opifex_fit.engine.compilation_cache import enable_compilation_cache, enable_from_environment
from opifex_fit.history import History
from opifex_fit.learner import Learner
from opifex_fit.callbacks.reference_error import ReferenceSolution
from opifex_fit.problems.base import Problem
from opifex_fit.problems.conditions import (
    DirichletBC,
    InitialCondition,
    NeumannBC,
    OperatorBC,
    PeriodicBC,
    RobinBC,
)
from opifex_fit.problems.point_data import PointData
from opifex_fit.geometry import Ball, Box, Disk, Interval, PointCloud, Polygon
from opifex_fit.problems.energy_forces import EnergyForces
from opifex_fit.problems.pde import PDEProblem
from opifex_fit.problems.supervised import Supervised
from opifex_fit.parallel.sharding import data_parallel_mesh
from opifex_fit.inputs.streaming import Batches, HostDataset
from opifex_fit.engine.state import TrainState

__version__ = "0.1.0"

enable_from_environment()
