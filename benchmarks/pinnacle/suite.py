"""What every PINNacle case shares: its protocol, its points, its scoring.

A case module (``burgers1d_c.py``, ...) states one PDE through the public API
and exposes ``NAME``, ``PAPER`` (PINNacle's published numbers), ``MUL``
(PINNacle's ``training_points(mul=...)``), ``BEST_TOOLS``, ``REFERENCE_FILE``
(None for exact solutions), ``setup(config, points, seed, data_dir) -> Setup`` and
``reference(data_dir) -> (x, y)``. ``train`` runs one configuration of a case
the same way for every case.

PINNacle's protocol (``benchmark.py``, ``src/pde/baseclass.py``): a
``5 x 100`` tanh DeepXDE FNN with Glorot-normal weights (``of.models.MLP``
initialises the same way), Adam 1e-3 for 20000 steps, unit loss weights,
``8192 * mul`` domain, ``2048 * mul`` boundary and ``2048 * mul`` initial
points. DeepXDE samples the boundary points over the WHOLE boundary and each
condition keeps those on its part, so a condition gets a share of them
proportional to its part's measure: ``SHARES`` in each case states them.
"""

import os
import sys
import time
from typing import Callable, NamedTuple

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import opifex_fit as of

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "examples")
if EXAMPLES not in sys.path:
  sys.path.insert(0, EXAMPLES)  # cases reuse examples/poisson_holes.py, lid_driven_cavity.py, ...

CONFIGS = ("vanilla", "best")
PINNACLE_HIDDEN = (100,) * 5
PINNACLE_STEPS = 20000
PINNACLE_POINTS = 8192


class Paper(NamedTuple):
  """PINNacle's L2RE: vanilla PINN, best method and its name (arXiv v2 main
  table as transcribed in issue 25)."""
  vanilla: float
  best: float
  method: str


class Setup(NamedTuple):
  """One configuration of a case: what ``of.Learner`` and ``fit`` need."""
  problem: of.PDEProblem
  data: dict
  callbacks: tuple = ()
  optimizer: optax.GradientTransformation | None = None  # None: Adam 1e-3
  embedding: Callable | None = None  # rngs -> embedding module for the MLP


class Rescale(nnx.Module):
  """Maps a box's coordinates onto [-1, 1] before the first layer (an MLP
  ``embedding``): tanh units see inputs of order one even where t reaches 100.

  >>> import jax.numpy as jnp
  >>> Rescale([(0.0, 1.0), (0.0, 100.0)])(jnp.array([[0.5, 100.0]])).tolist()
  [[0.0, 1.0]]
  """

  def __init__(self, bounds):
    self.lower = tuple(float(lo) for lo, _ in bounds)
    self.upper = tuple(float(hi) for _, hi in bounds)
    self.in_features = self.out_features = len(self.lower)

  def __call__(self, x):
    lower, upper = jnp.asarray(self.lower), jnp.asarray(self.upper)
    return 2 * (x - lower) / (upper - lower) - 1


class Result(NamedTuple):
  error: float
  seconds: float


def pinnacle_points(problem, points, mul=1, shares=None, seed=0):
  """PINNacle's training points: ``points * mul`` in the domain, a quarter of
  that on the boundary (split by ``shares``: condition -> fraction of the
  boundary's measure, 1 where absent) and a quarter at t = 0."""
  n_boundary = max(1, points // 4 * mul)
  has_time = "t" in problem.domain.names
  data = problem.sample(points * mul, n_boundary=n_boundary,
                        n_initial=n_boundary if has_time else None, seed=seed)
  for name, share in (shares or {}).items():
    data[name] = data[name][:max(1, round(n_boundary * share))]
  return data


def inverse_setup(config, residual, domain, sensors, u_exact, a_exact, points, mul, seed):
  """PInv and HInv: u observed with N(0, 0.1) noise at ``sensors`` (output 0), the
  coefficient ``a`` (output 1) known on the boundary; best adds per-step
  resampling and LR annealing."""
  from opifex_fit import callbacks as cb

  noisy = u_exact(sensors) + np.random.default_rng(seed).normal(0.0, 0.1, len(sensors))
  problem = of.PDEProblem(residual, domain, [
      of.PointData(sensors, noisy, component=0, name="data"),
      of.DirichletBC(lambda x: a_exact(x, jnp), component=1, name="bc_a")])
  data = pinnacle_points(problem, points, mul, seed=seed)
  if config == "vanilla":
    return Setup(problem, data)
  return Setup(problem, data, (cb.Resample(every=1), cb.LRAnnealing(every=100)))


def exact_reference(domain, solution, seed=1234):
  """Test points as PINNacle's ``TesterCallback``: 2500 inside 2-D domains,
  20000 otherwise (PINNacle takes a uniform grid; these are uniform random)."""
  x = domain.sample_interior(2500 if domain.dim == 2 else 20000, seed=seed)
  return x, np.asarray(solution(x))


def comsol_space_time(path, field="u"):
  table = of.datasets.read_comsol(path)
  return table.space_time(field)


def relative_l2(pred, ref):
  """PINNacle's L2RE: all outputs together, NaN rows of the reference dropped."""
  pred, ref = np.asarray(pred, np.float64).reshape(len(ref), -1), np.asarray(ref, np.float64)
  ref = ref.reshape(len(ref), -1)
  keep = ~np.isnan(ref).any(axis=1)
  return float(np.linalg.norm(pred[keep] - ref[keep]) / np.linalg.norm(ref[keep]))


def train(case, config, steps, points, seed, data_dir, hidden=PINNACLE_HIDDEN):
  """Trains one configuration of ``case`` and scores it against its reference."""
  if config not in CONFIGS:
    raise ValueError(f"config must be one of {CONFIGS}; got {config!r}")
  setup = case.setup(config, points, seed, data_dir)
  rngs = nnx.Rngs(seed)
  dim, outputs = setup.problem.domain.dim, getattr(case, "OUTPUTS", 1)
  embedding = setup.embedding(rngs) if setup.embedding else None
  model = of.models.MLP(dim, [*hidden, outputs], activation="tanh", embedding=embedding, rngs=rngs)
  learner = of.Learner(model, setup.problem, setup.optimizer or optax.adam(1e-3), seed=seed)
  start = time.perf_counter()
  learner.fit(setup.data, steps=steps, callbacks=list(setup.callbacks), verbose=0)
  seconds = time.perf_counter() - start
  x, y = case.reference(data_dir)
  pred = learner.predict(jnp.asarray(x, jnp.float32), batch_size=8192)
  return Result(relative_l2(pred, y), seconds)
