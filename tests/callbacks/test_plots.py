"""cb.PlotHistory and cb.PlotSolution: PNGs read back, TensorBoard images read back."""
import io
import os
import sys

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from support import make_learner, sine_data
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.callbacks import plotting

mpimg = pytest.importorskip("matplotlib.image")
PIL = pytest.importorskip("PIL.Image")


def read_png(path):
  return np.asarray(PIL.open(path).convert("RGB"))


def assert_not_blank(rgb):
  # White background with something drawn on it: many non-white pixels, several colours.
  assert (rgb.min(axis=-1) < 200).mean() > 0.01
  assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 10


def tb_images(logdir, tag):
  ea = EventAccumulator(str(logdir), size_guidance={"images": 0})
  ea.Reload()
  return ea.Images(tag)


def decode(event):
  return np.asarray(PIL.open(io.BytesIO(event.encoded_image_string)).convert("RGB"))


def test_history_png_at_cadence_and_end_readable_during_fit_same_in_tensorboard(tmp_path, data):
  plots, logdir = tmp_path / "plots", tmp_path / "tb"
  seen = {}
  def watch(learner):  # a user looking at the file while training runs
    seen[learner.step] = read_png(plots / "history.png").shape
  learner = make_learner()
  learner.fit(data, steps=100, validation_data=sine_data(32, seed=1), validation_every=20,
              callbacks=[cb.PlotHistory(plots, every=40), cb.TensorBoard(logdir, hparams=False),
                         cb.LambdaCallback(on_step_end=watch, every=40, order=95)], verbose=0)
  assert seen == {40: (400, 640, 3), 80: (400, 640, 3)}
  png = read_png(plots / "history.png")
  assert png.shape == (400, 640, 3)
  assert_not_blank(png)
  np.testing.assert_array_equal(mpimg.imread(plots / "history.png").shape[:2], (400, 640))
  events = tb_images(logdir, "plots/history")
  assert [e.step for e in events] == [40, 80, 100]  # the cadence, then the end of fit
  np.testing.assert_array_equal(decode(events[-1]), png)  # the very same image
  assert os.listdir(plots) == ["history.png"]  # no temporary file left behind


def test_history_draws_each_term_and_its_validation_curve(tmp_path, data):
  plot = cb.PlotHistory(tmp_path, tensorboard=False)
  learner = make_learner()
  learner.fit(data, steps=60, validation_data=sine_data(32, seed=1), callbacks=[plot], verbose=0)
  fig = plot.draw(learner)
  ax = fig.axes[0]
  lines = {ln.get_label(): ln for ln in ax.get_lines()}
  assert set(lines) == {"loss", "data_loss", "val_loss", "val_data_loss"}
  assert ax.get_yscale() == "log"
  x, y = lines["loss"].get_data()
  np.testing.assert_allclose(x, learner.history.steps)
  np.testing.assert_allclose(y, learner.history.loss)
  assert lines["val_loss"].get_linestyle() == "--"


def test_history_writes_atomically_through_os_replace(tmp_path, data, monkeypatch):
  calls = []
  real = os.replace
  def spy(src, dst):
    assert os.path.dirname(src) == str(tmp_path) and read_png(src).shape == (400, 640, 3)
    calls.append(dst)
    real(src, dst)
  monkeypatch.setattr(plotting.os, "replace", spy)
  make_learner().fit(data, steps=20, callbacks=[cb.PlotHistory(tmp_path, every=10)], verbose=0)
  assert calls == [os.path.join(tmp_path, "history.png")] * 2


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "matplotlib", None)
  with pytest.raises(ImportError, match=r"pip install opifex-fit\[plots\]"):
    cb.PlotHistory(tmp_path)
  with pytest.raises(ImportError, match=r"pip install opifex-fit\[plots\]"):
    cb.PlotSolution(tmp_path, grid=8)


def test_bad_arguments_raise_before_compiling(tmp_path, data):
  with pytest.raises(ValueError, match="every"):
    cb.PlotHistory(tmp_path, every=0)
  with pytest.raises(ValueError, match="grid"):
    cb.PlotSolution(tmp_path, grid=1)
  with pytest.raises(TypeError, match="reference"):
    cb.PlotSolution(tmp_path, grid=8, reference=3.0)
  learner = make_learner()
  with pytest.raises(ValueError, match="'nope'"):
    learner.fit(data, steps=10, callbacks=[cb.PlotHistory(tmp_path, terms=["loss", "nope"])],
                verbose=0)
  with pytest.raises(TypeError, match="PDEProblem"):
    learner.fit(data, steps=10, callbacks=[cb.PlotSolution(tmp_path, grid=8)], verbose=0)
  assert "chunk" not in learner.trace_counts


# -- PlotSolution ---------------------------------------------------------------
def poisson(x, u, d):
  return d["xx"] + d["yy"] + 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def exact2d(p):
  return np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])


def pinn(residual, bounds, seed=0):
  problem = of.PDEProblem(residual, of.Box(bounds), conditions=[of.DirichletBC(0.0)])
  model = of.models.MLP(len(bounds), [8, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, problem, optax.adam(1e-3), seed=seed), problem


def test_solution_2d_fields_png_tensorboard_and_one_compile(tmp_path):
  learner, problem = pinn(poisson, {"x": (0, 1), "y": (0, 1)})
  plot = cb.PlotSolution(tmp_path / "plots", grid=(12, 10), reference=exact2d, every=10)
  learner.fit(problem.sample(64, 16), steps=30,
              callbacks=[plot, cb.TensorBoard(tmp_path / "tb", hparams=False)], verbose=0)
  events = tb_images(tmp_path / "tb", "plots/solution")
  assert [e.step for e in events] == [10, 20, 30]
  png = read_png(tmp_path / "plots" / "solution.png")
  assert png.shape == (340, 4 * 420, 3)   # four panels of 4.2 x 3.4 inches at 100 dpi
  assert_not_blank(png)
  np.testing.assert_array_equal(decode(events[-1]), png)
  # The fields are the model's on the grid, computed by hand here.
  fields = plot.fields(learner)
  pts = of.problems.reference.grid(problem.domain, (12, 10))
  u = np.asarray(learner.predict(pts)).reshape(-1)
  r = np.asarray(problem.pointwise_residuals(learner.model, "pde", jnp.asarray(pts)))
  np.testing.assert_allclose(fields["solution"], u, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fields["reference"], exact2d(pts))
  np.testing.assert_allclose(fields["error"], np.abs(u - exact2d(pts)), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fields["residual"], r, rtol=1e-4, atol=1e-4)
  # x horizontal, y vertical: image[row j, col i] is the point (x_i, y_j).
  image = np.asarray(plot.draw(learner).axes[0].images[0].get_array())
  np.testing.assert_allclose(image, u.reshape(12, 10).T, rtol=1e-5, atol=1e-6)
  assert learner.trace_counts["plot_solution"] == 1   # 3 cadence draws + 2 here: one trace
  assert learner.trace_counts["chunk"] == 1


def test_solution_of_a_system_draws_one_component_and_the_residual_norm(tmp_path):
  def system(x, u, d):   # two decoupled Poisson equations
    return d["laplacian"] + jnp.array([1.0, 2.0])
  problem = of.PDEProblem(system, of.Box({"x": (0, 1), "y": (0, 1)}),
                          conditions=[of.DirichletBC(0.0)])
  learner = of.Learner(of.models.MLP(2, [8, 2], rngs=nnx.Rngs(0)), problem, optax.adam(1e-3))
  ref = lambda p: np.stack([p[:, 0], 3 * p[:, 1]], axis=1)
  plot = cb.PlotSolution(tmp_path, grid=6, reference=ref, component=1)
  learner.fit(problem.sample(32, 8), steps=5, callbacks=[plot], verbose=0)
  pts = of.problems.reference.grid(problem.domain, 6)
  fields = plot.fields(learner)
  u = np.asarray(learner.predict(pts))[:, 1]
  r = np.asarray(problem.pointwise_residuals(learner.model, "pde", jnp.asarray(pts)))
  assert r.shape == (36, 2)
  np.testing.assert_allclose(fields["solution"], u, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fields["error"], np.abs(u - 3 * pts[:, 1]), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fields["residual"], np.linalg.norm(r, axis=1), rtol=1e-4, atol=1e-5)


def heat(x, u, d):
  return d["t"] - 0.1 * d["xx"]


def test_solution_1d_time_is_x_horizontal_t_vertical_without_reference(tmp_path):
  learner, problem = pinn(heat, {"x": (0, 1), "t": (0, 2)})
  plot = cb.PlotSolution(tmp_path, grid=(9, 5), tensorboard=False)
  learner.fit(problem.sample(32, 8), steps=10, callbacks=[plot], verbose=0)
  fig = plot.draw(learner)
  assert [ax.get_title() for ax in fig.axes if ax.images] == ["solution", "residual"]
  image = np.asarray(fig.axes[0].images[0].get_array())
  u = np.asarray(learner.predict(of.problems.reference.grid(problem.domain, (9, 5))))
  assert image.shape == (5, 9)   # rows: t, columns: x
  np.testing.assert_allclose(image, u.reshape(9, 5).T, rtol=1e-5, atol=1e-6)
  assert fig.axes[0].images[0].get_extent() == [0.0, 1.0, 0.0, 2.0]
  assert_not_blank(read_png(tmp_path / "solution.png"))


def test_solution_1d_as_lines(tmp_path):
  def ode(x, u, d):
    return d["xx"] + jnp.pi**2 * jnp.sin(jnp.pi * x[0])
  learner, problem = pinn(ode, {"x": (0, 1)})
  exact = lambda p: np.sin(np.pi * p[:, 0])
  plot = cb.PlotSolution(tmp_path, grid=33, reference=exact)
  learner.fit(problem.sample(32, 2), steps=10, callbacks=[plot], verbose=0)
  fig = plot.draw(learner)
  assert [ax.get_title() for ax in fig.axes] == ["solution", "error", "residual"]
  sol = {ln.get_label(): ln.get_data() for ln in fig.axes[0].get_lines()}
  x = np.linspace(0, 1, 33)
  np.testing.assert_allclose(sol["reference"][1], exact(x[:, None]))
  np.testing.assert_allclose(sol["solution"][1],
                             np.asarray(learner.predict(x[:, None])).reshape(-1), rtol=1e-5)
  png = read_png(tmp_path / "solution.png")
  assert png.shape == (320, 3 * 400, 3)
  assert_not_blank(png)


def test_solution_rejects_wrong_grid_and_reference_shapes(tmp_path):
  learner, problem = pinn(poisson, {"x": (0, 1), "y": (0, 1)})
  data = problem.sample(16, 8)
  with pytest.raises(ValueError, match="grid has 3 counts"):
    learner.fit(data, steps=5, callbacks=[cb.PlotSolution(tmp_path, grid=(4, 4, 4))], verbose=0)
  bad = cb.PlotSolution(tmp_path, grid=4, reference=lambda p: np.zeros(3))
  with pytest.raises(ValueError, match=r"reference\(points\) has shape \(3,\)"):
    learner.fit(data, steps=5, callbacks=[bad], verbose=0)
  assert "chunk" not in learner.trace_counts


def test_main_example_logs_its_solution_and_error_to_tensorboard(tmp_path):
  sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
  import poisson_pinn
  poisson_pinn.main(adam_steps=500, lbfgs_steps=5, logdir=str(tmp_path), verbose=0)
  assert sorted(os.listdir(tmp_path / "plots")) == ["history.png", "solution.png"]
  png = read_png(tmp_path / "plots" / "solution.png")
  assert png.shape == (340, 4 * 420, 3)   # solution, reference, error, residual
  events = tb_images(tmp_path, "plots/solution")
  assert [e.step for e in events] == [505]   # every=1000: drawn at the end of fit
  np.testing.assert_array_equal(decode(events[-1]), png)


def test_positional_orders_of_design_section_1(tmp_path):
  plot = cb.PlotHistory(tmp_path, 7, ["loss"])
  assert (plot.directory, plot.every, plot.terms) == (str(tmp_path), 7, ("loss",))
  ref = np.sum
  sol = cb.PlotSolution(tmp_path, (4, 5), ref, 9)
  assert (sol.grid, sol.reference, sol.every) == ((4, 5), ref, 9)
