"""PlotSolution: a PINN's solution, reference, error and residual on a grid, as a PNG."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.callbacks.plotting import PlotCallback, new_figure
from opifex_fit.problems import reference as reference_lib

TRACE_NAME = "plot_solution"


class PlotSolution(PlotCallback):
  """Draws the model on a tensor grid of the problem's domain to ``directory/solution.png``.

  Panels: the solution, the reference (``reference(points) -> (n,)``, e.g. an
  exact solution, evaluated once on the grid), the absolute error
  ``|u - reference|`` and the PDE residual; without a reference only the
  solution and the residual. Layout by the domain:

  * 1-D + time (coordinates ``x`` and ``t``): images, x horizontal, t vertical;
  * 2-D: images, the first coordinate horizontal, the second vertical;
  * 1-D: lines (solution and reference on one axes, then error, residual).

  The grid spans the domain's bounding box; points outside the domain (holes,
  outside a curved rim) are left blank.

  Args:
    directory: where ``solution.png`` is written (created if missing).
    grid: points per coordinate, an int or one int per coordinate (>= 2).
    reference: function of points ``(n, dim)`` numpy -> ``(n,)`` (or ``(n, k)``
      for vector outputs), or None.
    every: step cadence (None: every chunk boundary where logs are fetched);
      also drawn at the end of fit.
    component: which output to draw for a vector-valued model (default 0).
    filename: the PNG's name; tensorboard: also send the image, as
      ``plots/solution``, to a ``cb.TensorBoard`` callback of the same fit.

  The prediction and the residual ``learner.problem.pointwise_residuals(model,
  "pde", points)`` come from one jitted function of this callback, compiled
  once per model (``learner.trace_counts["plot_solution"]``); a vector
  residual (a system) is drawn as its Euclidean norm per point. Needs an
  ``of.PDEProblem`` and matplotlib (``pip install opifex-fit[plots]``).

  Example (u'' = -pi^2 sin(pi x) on (0, 1), u = 0 at both ends):
    >>> import tempfile, numpy as np, jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> problem = of.PDEProblem(lambda x, u, d: d["xx"] + jnp.pi**2 * jnp.sin(jnp.pi * x[0]),
    ...                         of.Interval("x", 0, 1), conditions=[of.DirichletBC(0.0)])
    >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), problem)
    >>> plot = cb.PlotSolution(tempfile.mkdtemp(), grid=101,
    ...                        reference=lambda p: np.sin(np.pi * p[:, 0]))
    >>> _ = learner.fit(problem.sample(64, 2), steps=20, verbose=0, callbacks=[plot])
    >>> sorted(plot.fields(learner)), plot.fields(learner)["error"].shape
    (['error', 'reference', 'residual', 'solution'], (101,))
  """

  def __init__(self, directory, grid, reference: Callable | None = None,
               every: int | None = None, *, component: int = 0,
               filename: str = "solution.png", tensorboard: bool = True):
    super().__init__(directory, every=every, filename=filename, tag="plots/solution",
                     tensorboard=tensorboard)
    counts = (grid,) if np.ndim(grid) == 0 else tuple(grid)
    if not counts or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                             and c >= 2 for c in counts):
      raise ValueError(f"grid must be an int >= 2 or a tuple of such ints (points per"
                       f" coordinate); got {grid!r}")
    if reference is not None and not callable(reference):
      raise TypeError(f"reference must be a function points (n, dim) -> (n,), or None;"
                      f" got {reference!r}")
    if isinstance(component, bool) or not isinstance(component, int) or component < 0:
      raise ValueError(f"component must be an int >= 0; got {component!r}")
    self.grid, self.reference, self.component = grid, reference, component

  def setup(self, learner):
    problem = learner.problem
    if not all(hasattr(problem, a) for a in ("pointwise_residuals", "domain", "predict")):
      raise TypeError(f"PlotSolution needs an of.PDEProblem (a residual on a domain); the"
                      f" learner's problem is {type(problem).__name__}")
    domain = problem.domain
    if domain.dim > 2:
      raise ValueError(f"PlotSolution draws 1-D and 2-D domains (1-D + time counts as 2-D);"
                       f" the domain has {domain.dim} coordinates {list(domain.names)}")
    counts = [self.grid] * domain.dim if np.ndim(self.grid) == 0 else list(self.grid)
    if len(counts) != domain.dim:
      raise ValueError(f"grid has {len(counts)} counts but the domain has {domain.dim}"
                       f" coordinates {list(domain.names)}")
    self.counts = tuple(int(c) for c in counts)
    self.points = reference_lib.grid(domain, self.counts)
    self.outside = ~domain.contains(self.points)  # blank in the images (holes, curved rims)
    self.ref_values = None
    if self.reference is not None:
      self.ref_values = self._pick(np.asarray(self.reference(self.points), dtype=float),
                                   "reference(points)")

  def _pick(self, values: np.ndarray, what: str) -> np.ndarray:
    """One output component as ``(n,)``."""
    n = self.points.shape[0]
    if values.shape in ((n,), (n, 1)):
      return values.reshape(n)
    if values.ndim == 2 and values.shape[0] == n and self.component < values.shape[1]:
      return values[:, self.component]
    raise ValueError(f"PlotSolution: {what} has shape {values.shape}; expected ({n},) or"
                     f" ({n}, k) with k > component={self.component} on the {n} grid points")

  def _solution_and_residual(self, learner):
    # Eval mode, as learner.predict: Dropout off, BatchNorm running averages.
    problem = learner.problem

    def solution_and_residual(s, points):
      u = problem.predict(s.model, points)
      r = s.residuals("pde", points)
      r = jnp.linalg.norm(r, axis=-1) if r.ndim == 2 else r
      return u, r
    return learner.compile(TRACE_NAME, solution_and_residual, eval_mode=True, key=self)

  def fields(self, learner) -> dict[str, np.ndarray]:
    """``{"solution", "residual"[, "reference", "error"]}`` on the grid, each ``(n,)``."""
    fn = self._solution_and_residual(learner)
    u, r = jax.device_get(fn(jnp.asarray(self.points, jnp.result_type(float))))
    out = {"solution": self._pick(np.asarray(u, float), "the model output")}
    if self.ref_values is not None:
      out["reference"] = self.ref_values
      out["error"] = np.abs(out["solution"] - self.ref_values)
    out["residual"] = np.asarray(r, float)
    return {k: np.where(self.outside, np.nan, v) for k, v in out.items()}

  def draw(self, learner):
    fields = self.fields(learner)
    names = learner.problem.domain.names
    if len(names) == 1:
      return _draw_lines(self.points[:, 0], fields, names[0], learner.step)
    return _draw_images(self.points, self.counts, names, fields, learner.step)


def _draw_lines(x, fields, xname, step):
  panels = ["solution"] + [k for k in ("error", "residual") if k in fields]
  fig = new_figure(1, len(panels))
  for ax, name in zip(fig.axes, panels, strict=True):
    ax.plot(x, fields[name], "-", color="C0", label=name)
    if name == "solution" and "reference" in fields:
      ax.plot(x, fields["reference"], "--", color="k", label="reference")
    ax.set_xlabel(xname)
    ax.set_title(name)
    ax.grid(True, alpha=0.3)
    if name == "solution":
      ax.legend(fontsize=8)
  fig.suptitle(f"step {step}")
  fig.tight_layout()
  return fig


def _draw_images(points, counts, names, fields, step):
  """2-D fields as images; with time, x horizontal and t vertical."""
  # reference.grid uses "ij" indexing: the first coordinate varies slowest.
  h_axis = 1 if names[0] == "t" else 0
  v_axis = 1 - h_axis
  lo, hi = points.min(axis=0), points.max(axis=0)
  extent = (lo[h_axis], hi[h_axis], lo[v_axis], hi[v_axis])
  panels = [k for k in ("solution", "reference", "error", "residual") if k in fields]
  fig = new_figure(1, len(panels), size=(4.2, 3.4))
  for ax, name in zip(fig.axes, panels, strict=True):
    image = fields[name].reshape(counts)
    image = image if h_axis == 1 else image.T  # rows = vertical coordinate
    cmap = "magma" if name in ("error", "residual") else "viridis"
    im = ax.imshow(image, origin="lower", extent=extent, aspect="auto", cmap=cmap)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xlabel(names[h_axis])
    ax.set_ylabel(names[v_axis])
    ax.set_title(name)
  fig.suptitle(f"step {step}")
  fig.tight_layout()
  return fig
