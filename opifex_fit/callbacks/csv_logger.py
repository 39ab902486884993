"""CSVLogger: one CSV row per History record."""

from __future__ import annotations

import csv
import io
import os

from opifex_fit.callbacks.base import ORDER_LOGGER, Callback


class CSVLogger(Callback):
  """Writes ``learner.logs`` to a CSV file, one row per record.

  A record is a chunk boundary where logs were fetched (the rows line up with
  ``learner.history``): the first column is ``step``, then every logged name in
  the order it first appeared. Validation values join the row of their step.
  When a new name appears (``val_loss`` at the first validation, a metric a
  callback adds later) the file is rewritten with the wider header, earlier
  rows getting empty cells; otherwise each row is appended and flushed at once,
  so the file can be followed while training.

  ``append=True`` keeps the rows already in the file (for example of the run a
  checkpoint resumes) and adds to them; rows of steps after the step the fit
  starts from are dropped, since training resumed from before them. The
  default ``append=None`` appends when the fit starts past step 0 (a
  Checkpoint resume, or ``fit`` called again) and starts a new file at step
  0; ``append=False`` always starts a new file.

  Example:
    >>> import os, tempfile
    >>> import numpy as np, optax
    >>> from flax import nnx
    >>> import opifex_fit as of
    >>> from opifex_fit import callbacks as cb
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> x = np.linspace(-1, 1, 32)[:, None]
    >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised())
    >>> _ = learner.fit((x, x ** 2), steps=30, steps_per_execution=10, verbose=0,
    ...                 callbacks=[cb.CSVLogger(path)])
    >>> [line.split(",")[0] for line in open(path).read().splitlines()]  # one row per record
    ['step', '10', '20', '30']
  """

  order = ORDER_LOGGER
  every = None
  observer = True  # only reads logs: may run while the next chunk computes

  def __init__(self, path, append: bool | None = None):
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
      raise TypeError(f"path must be a file path; got {path!r}")
    if append is not None and not isinstance(append, bool):
      raise TypeError(f"append must be True, False or None (append past step 0); got {append!r}")
    self.path, self.append = os.fspath(path), append
    self._columns: list[str] = ["step"]
    self._rows: list[dict] = []
    self._last_offset = 0  # where the last row starts, to rewrite it in place

  def on_fit_begin(self, learner):
    self._columns, self._rows = ["step"], []
    append = learner.step > 0 if self.append is None else self.append
    if append and os.path.exists(self.path):
      with open(self.path, newline="") as f:
        reader = csv.DictReader(f)
        self._columns = list(reader.fieldnames or ["step"])
        if "step" not in self._columns:
          raise ValueError(f"CSVLogger(append=True): {self.path} has no 'step' column;"
                           f" its header is {self._columns}")
        self._rows = [r for r in reader if r["step"] and int(r["step"]) <= learner.step]
    self._rewrite()

  def on_step_end(self, learner):
    self._log(learner)

  def on_validation_end(self, learner):
    self._log(learner)

  def _log(self, learner):
    row = {"step": learner.step, **learner.logs}
    same_record = bool(self._rows) and str(self._rows[-1]["step"]) == str(learner.step)
    if same_record:
      self._rows[-1] = {**self._rows[-1], **row}
    else:
      self._rows.append(row)
    new = [k for k in row if k not in self._columns]
    if new:
      self._columns += new
      self._rewrite()
    elif same_record:
      self._write_last(truncate=True)
    else:
      self._write_last(truncate=False)

  # -- file ------------------------------------------------------------------
  def _format(self, rows) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, self._columns, restval="", lineterminator="\n")
    for row in rows:
      writer.writerow(row)
    return buf.getvalue()

  def _rewrite(self):
    """The whole file (new header): written to a temp file, then renamed."""
    directory = os.path.dirname(os.path.abspath(self.path))
    os.makedirs(directory, exist_ok=True)
    head = ",".join(self._columns) + "\n" + self._format(self._rows[:-1])
    tmp = self.path + ".tmp"
    with open(tmp, "w", newline="") as f:
      f.write(head)
      self._last_offset = len(head.encode())
      f.write(self._format(self._rows[-1:]))
    os.replace(tmp, self.path)

  def _write_last(self, truncate: bool):
    with open(self.path, "r+", newline="") as f:
      if truncate:
        f.seek(self._last_offset)
        f.truncate()
      else:
        f.seek(0, os.SEEK_END)
        self._last_offset = f.tell()
      f.write(self._format(self._rows[-1:]))

