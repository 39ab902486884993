"""PlotHistory: loss curves per term as a PNG a user can watch during training."""

from __future__ import annotations

import math

import numpy as np

from opifex_fit.callbacks.plotting import PlotCallback, new_figure


class PlotHistory(PlotCallback):
  """Draws the loss curves of ``learner.history`` (log scale) to ``directory/history.png``.

  One line per term: ``loss`` and every ``<term>_loss`` (``pde_loss``,
  ``bc_loss``, ``l2_loss``, ...), with the matching ``val_*`` curve dashed in
  the same colour when validation ran. ``terms`` picks the History names to
  draw instead (any logged name, e.g. ``["loss", "rel_l2"]``). Non-positive
  and missing values are left out of the log-scale plot.

  The PNG is redrawn every ``every`` steps (None: at every chunk boundary
  where logs are fetched) and at the end of fit, replaced atomically. With a
  ``cb.TensorBoard`` in the same fit, the same image goes to its event file as
  ``plots/history`` (``tensorboard=False`` turns that off). It only reads the
  History, so it runs while the next chunk computes. Needs matplotlib
  (``pip install opifex-fit[plots]``).

  Example:
    >>> import os, tempfile, numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> x = np.linspace(-1, 1, 64)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), of.Supervised(),
    ...                      optax.adam(1e-2))
    >>> plots = tempfile.mkdtemp()
    >>> _ = learner.fit((x, np.sin(3 * x)), steps=40, verbose=0,
    ...                 callbacks=[cb.PlotHistory(plots, every=10)])
    >>> os.listdir(plots)   # redrawn at steps 10, 20, 30, 40: watch it while training runs
    ['history.png']
  """

  observer = True  # only reads learner.history

  def __init__(self, directory, every: int | None = None, terms=None, *,
               filename: str = "history.png", tensorboard: bool = True):
    super().__init__(directory, every=every, filename=filename, tag="plots/history",
                     tensorboard=tensorboard)
    if terms is not None:
      terms = (terms,) if isinstance(terms, str) else terms
      if not isinstance(terms, (list, tuple)) or not terms or \
          not all(isinstance(t, str) and t for t in terms):
        raise ValueError(f"terms must be None or a non-empty list of History names such as"
                         f" ['loss', 'pde_loss']; got {terms!r}")
      terms = tuple(terms)
    self.terms = terms

  def setup(self, learner):
    if self.terms is None:
      return
    from opifex_fit.engine.loop import available_logs
    known = set(available_logs(learner, has_validation=True)) | set(learner.history)
    unknown = [t for t in self.terms if t not in known]
    if unknown:
      raise ValueError(f"PlotHistory: terms has {unknown}, not logged in this fit; available:"
                       f" {sorted(known)}")

  def names(self, history) -> list[str]:
    """The History names drawn as solid lines (``val_*`` partners are added dashed)."""
    if self.terms is not None:
      return list(self.terms)
    return [n for n in history if (n == "loss" or n.endswith("_loss")) and not n.startswith("val_")]

  def draw(self, learner):
    history = learner.history
    if not history.steps:
      return None
    fig = new_figure(1, 1, size=(6.4, 4.0))
    ax = fig.axes[0]
    steps = np.asarray(history.steps, dtype=float)
    drawn = 0
    for i, name in enumerate(self.names(history)):
      color = f"C{i % 10}"
      for label, style in ((name, "-"), ("val_" + name, "--")):
        if label not in history or (style == "--" and self.terms is not None
                                    and label in self.terms):
          continue
        values = np.asarray(history[label], dtype=float)
        ok = np.isfinite(values) & (values > 0)
        if ok.any():
          ax.plot(steps[ok], values[ok], style, color=color, label=label, lw=1.4)
          drawn += 1
    if drawn:
      ax.set_yscale("log")
      ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"step {learner.step}")
    ax.grid(True, which="both", alpha=0.3)
    if math.isfinite(steps[-1]) and steps[-1] > steps[0]:
      ax.set_xlim(steps[0], steps[-1])
    fig.tight_layout()
    return fig
