"""What the plot callbacks share: matplotlib (optional), atomic PNGs, TensorBoard.

matplotlib is an optional extra (``pip install opifex-fit[plots]``). Figures
are drawn on matplotlib's Agg canvas directly (``matplotlib.figure.Figure``,
no ``pyplot``), so no window ever opens, nothing blocks and the user's global
backend is left alone. A drawn figure becomes one RGB array; the same array is
written as the PNG file and sent to TensorBoard, so both show the same image.

Files are replaced atomically: the PNG is written to a temporary file in the
same directory and moved over the old one with ``os.replace``, so an image
viewer watching the file never reads a half-written PNG.

Example:
  >>> import tempfile, os
  >>> from opifex_fit.callbacks import plotting
  >>> fig = plotting.new_figure(1, 1)
  >>> _ = fig.axes[0].plot([0, 1], [1, 0])
  >>> path = os.path.join(tempfile.mkdtemp(), "line.png")
  >>> plotting.write_png_atomic(path, plotting.figure_rgb(fig))
"""

from __future__ import annotations

import os
import tempfile
import warnings

import jax
import numpy as np

from opifex_fit.callbacks.base import ORDER_LOGGER, Callback, check_every
from opifex_fit.writers.png import encode_png

INSTALL_HINT = "pip install opifex-fit[plots]"


def require_matplotlib(owner: str):
  """Imports matplotlib or raises an ImportError saying how to install it."""
  try:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
  except ImportError as e:
    raise ImportError(f"{owner} draws with matplotlib, which is not installed; install the"
                      f" plots extra: {INSTALL_HINT}") from e
  return matplotlib


def new_figure(rows: int, cols: int, *, size=(4.0, 3.2), dpi: int = 100):
  """A Figure on an Agg canvas with a grid of axes (never a window)."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure
  fig = Figure(figsize=(size[0] * cols, size[1] * rows), dpi=dpi, facecolor="white")
  FigureCanvasAgg(fig)
  fig.subplots(rows, cols, squeeze=False)
  return fig


def figure_rgb(fig) -> np.ndarray:
  """The drawn figure as a ``(H, W, 3)`` uint8 array."""
  fig.canvas.draw()
  return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def write_png_atomic(path: str, rgb: np.ndarray) -> None:
  """Writes ``rgb`` as a PNG at ``path`` through a temporary file and ``os.replace``."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".png.tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(encode_png(rgb))
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def tensorboard_writer(learner):
  """The writer of the fit's ``cb.TensorBoard`` callback, if one is in the fit and open."""
  from opifex_fit.callbacks.tensorboard import TensorBoard
  for c in getattr(learner, "callbacks", ()):
    if isinstance(c, TensorBoard) and c.writer is not None:
      return c.writer
  return None


class PlotCallback(Callback):
  """Base of the plot callbacks: draws at its cadence and at the end of fit.

  Subclasses implement ``draw(learner) -> Figure | None`` (None: nothing to
  draw yet). At every due step and once more at ``on_fit_end`` (unless that
  step was just drawn) the figure is written to ``directory/filename`` and,
  with ``tensorboard=True`` (default) and a ``cb.TensorBoard`` callback in the
  same fit, to its event file as the image ``tag`` at that step. Runs just
  before TensorBoard (order 89), so its writer is open at ``on_fit_end``. Only
  process 0 writes. After a failed fit the last figure is still attempted; a
  drawing error there is only warned about, so the fit's own error surfaces.
  """

  order = ORDER_LOGGER - 1

  def __init__(self, directory, *, every, filename: str, tag: str, tensorboard: bool):
    require_matplotlib(type(self).__name__)
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
      raise TypeError(f"directory must be a directory path; got {directory!r}")
    if not isinstance(filename, str) or not filename.endswith(".png") or os.sep in filename:
      raise ValueError(f"filename must be a file name ending in .png; got {filename!r}")
    if not isinstance(tensorboard, bool):
      raise TypeError(f"tensorboard must be True or False; got {tensorboard!r}")
    self.directory = os.fspath(directory)
    self.every = check_every(every)
    self.filename, self.tag, self.tensorboard = filename, tag, tensorboard
    self.path = os.path.join(self.directory, filename)
    self._last_step = None
    self._failed = self._ready = False

  def draw(self, learner):
    raise NotImplementedError

  def setup(self, learner) -> None:
    """Checks and prepares for this fit (called from ``on_fit_begin``)."""

  def on_fit_begin(self, learner):
    self._last_step, self._failed, self._ready = None, False, False
    self.setup(learner)
    if jax.process_index() == 0:
      os.makedirs(self.directory, exist_ok=True)
    self._ready = True

  def on_step_end(self, learner):
    self.write(learner)

  def on_exception(self, learner, exception):
    self._failed = True

  def on_fit_end(self, learner):
    if not self._ready or self._last_step == learner.step:
      return  # set-up failed (nothing to draw with) or this step is drawn
    if not self._failed:
      self.write(learner)
      return
    try:
      self.write(learner)
    except Exception as e:  # noqa: BLE001 - the fit's own exception matters more
      warnings.warn(f"{type(self).__name__}: could not draw after the failed fit: {e}",
                    stacklevel=2)

  def write(self, learner) -> bool:
    """Draws now and writes the PNG (and the TensorBoard image); False if nothing to draw."""
    fig = self.draw(learner)  # on every process: it may run a jitted function on a mesh
    if fig is None or jax.process_index() != 0:
      return False
    rgb = figure_rgb(fig)
    write_png_atomic(self.path, rgb)
    writer = tensorboard_writer(learner) if self.tensorboard else None
    if writer is not None:
      writer.write_images(learner.step, {self.tag: rgb})
    self._last_step = learner.step
    return True
