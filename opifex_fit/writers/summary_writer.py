"""A TensorBoard metric writer with CLU's ``MetricWriter`` method names.

``clu.metric_writers`` imports TensorFlow at package import, and TensorFlow is
not a dependency of opifex-fit. This writer produces the same kind of event
files with the ``tensorboard`` package alone: its ``EventFileWriter`` (an
asynchronous, flushed tfrecord writer) and its protos. Values use the summary
fields every TensorBoard reads natively and that
``tensorboard.backend.event_processing.event_accumulator.EventAccumulator``
returns directly: scalars as ``simple_value`` (``ea.Scalars(tag)``), histograms
as ``HistogramProto`` (``ea.Histograms(tag)``), images as PNG
``Summary.Image`` (``ea.Images(tag)``), hyperparameters as the hparams plugin's
``session_start_info`` (``ea.PluginTagToContent("hparams")``). The reader
behind TensorBoard's dashboards (``plugin_event_accumulator``) migrates these
fields to its tensor forms, so the files show in every dashboard; writing the
tensor forms instead would hide them from ``EventAccumulator.Scalars``.

Only process 0 writes (``jax.process_index() == 0``): on other hosts every
method is a no-op and no file is created, so a multi-host run logs once.

Example:
  >>> import numpy as np, tempfile
  >>> from opifex_fit.writers import SummaryWriter
  >>> with SummaryWriter(tempfile.mkdtemp()) as w:
  ...   w.write_hparams({"lr": 1e-3, "width": 64})
  ...   w.write_scalars(10, {"loss": 0.5})
  ...   w.write_histograms(10, {"w": np.random.randn(100)}, num_buckets=10)
  ...   w.write_images(10, {"field": np.random.rand(8, 8, 1)})
"""

from __future__ import annotations

import numbers
import os
import time
from typing import Any, Mapping

import jax
import numpy as np
from tensorboard.compat.proto import event_pb2, histogram_pb2, summary_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from opifex_fit.writers.png import encode_png

DEFAULT_NUM_BUCKETS = 30  # TensorBoard's own default


class SummaryWriter:
  """Writes scalars, images, histograms and hparams to a TensorBoard logdir.

  Args:
    logdir: directory for the event file (created if missing).
    flush_secs: the background writer flushes at least this often.
    max_queue: events buffered before the background writer is woken.

  The method names and arguments follow ``clu.metric_writers.MetricWriter``,
  so code written against this writer accepts any CLU writer and vice versa.
  """

  def __init__(self, logdir: str | os.PathLike, *, flush_secs: float = 30.0,
               max_queue: int = 100):
    if not isinstance(logdir, (str, os.PathLike)) or not str(logdir):
      raise TypeError(f"logdir must be a non-empty path; got {logdir!r}")
    self.logdir = os.fspath(logdir)
    self.active = jax.process_index() == 0
    self._last_step = 0
    self._writer = None
    if self.active:
      self._writer = EventFileWriter(self.logdir, max_queue_size=max_queue,
                                     flush_secs=flush_secs)

  # -- CLU MetricWriter methods ---------------------------------------------
  def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
    """Writes ``{tag: number}``; each value must be a scalar (0-d or size 1)."""
    values = []
    for tag, value in scalars.items():
      arr = np.asarray(value)
      if arr.size != 1 or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"write_scalars: scalars[{tag!r}] must be a single number;"
                         f" got shape {arr.shape}, dtype {arr.dtype}")
      values.append(summary_pb2.Summary.Value(tag=str(tag), simple_value=float(arr.reshape(()))))
    self._add(step, values)

  def write_images(self, step: int, images: Mapping[str, Any]) -> None:
    """Writes images of shape ``[N, H, W, C]``, ``[H, W, C]`` or ``[H, W]``.

    C is 1 (grey), 3 (RGB) or 4 (RGBA). As in CLU, ``uint8`` values are used
    as they are and floats are read as intensities in [0, 1] (clipped; NaN is
    black). With N > 1 the images are tagged ``name/0``, ``name/1``, ...
    """
    values = []
    for tag, image in images.items():
      batch = _as_uint8_batch(tag, image)
      for i, img in enumerate(batch):
        h, w, c = img.shape
        encoded = summary_pb2.Summary.Image(height=h, width=w, colorspace=c,
                                            encoded_image_string=encode_png(img))
        name = str(tag) if len(batch) == 1 else f"{tag}/{i}"
        values.append(summary_pb2.Summary.Value(tag=name, image=encoded))
    self._add(step, values)

  def write_histograms(self, step: int, arrays: Mapping[str, Any],
                       num_buckets: int | Mapping[str, int] | None = None) -> None:
    """Writes a histogram of every array (flattened; non-finite values dropped).

    ``num_buckets`` is one int for all arrays, or a mapping tag -> int as in
    CLU; missing tags use 30 buckets.
    """
    values = []
    for tag, array in arrays.items():
      n = num_buckets.get(tag) if isinstance(num_buckets, Mapping) else num_buckets
      n = DEFAULT_NUM_BUCKETS if n is None else n
      if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
        raise ValueError(f"write_histograms: num_buckets for {tag!r} must be a"
                         f" positive int; got {n!r}")
      values.append(summary_pb2.Summary.Value(tag=str(tag), histo=_histogram(array, int(n))))
    self._add(step, values)

  def write_hparams(self, hparams: Mapping[str, Any], *, step: int | None = None) -> None:
    """Writes hyperparameters once (nested mappings are flattened with ``.``).

    Values that are not bool/int/float/str are stored as their ``str``. The
    event goes at ``step`` (default: the last step written, so a resumed run
    never writes an older step, which TensorBoard reads as a restart).
    """
    flat = {k: _hparam_value(v) for k, v in _flatten(hparams).items()}
    summary = hparams_summary.hparams_pb(flat)
    self._add(self._last_step if step is None else step, list(summary.value))

  def flush(self) -> None:
    if self._writer is not None:
      self._writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
      self._writer = None

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def __repr__(self):
    return f"SummaryWriter({self.logdir!r}, active={self.active})"

  # -- internals -------------------------------------------------------------
  def _add(self, step, values) -> None:
    if not self.active or not values:
      return
    if self._writer is None:
      raise RuntimeError(f"SummaryWriter({self.logdir!r}) is closed")
    step = int(step)
    self._last_step = max(self._last_step, step)
    self._writer.add_event(event_pb2.Event(
        wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=values)))


def _histogram(array, num_buckets: int) -> histogram_pb2.HistogramProto:
  """Equal-width buckets over [min, max] of the finite values (TensorBoard's rule)."""
  data = np.asarray(jax.device_get(array), dtype=np.float64).ravel()
  data = data[np.isfinite(data)]
  if data.size == 0:
    return histogram_pb2.HistogramProto()
  lo, hi = float(data.min()), float(data.max())
  if lo == hi:  # one value: a single bucket holds everything
    counts, limits = np.array([data.size]), np.array([hi])
  else:
    counts, edges = np.histogram(data, bins=num_buckets, range=(lo, hi))
    limits = edges[1:]
  return histogram_pb2.HistogramProto(
      min=lo, max=hi, num=float(data.size), sum=float(data.sum()),
      sum_squares=float(np.dot(data, data)), bucket_limit=limits.tolist(),
      bucket=counts.astype(np.float64).tolist())


def _as_uint8_batch(tag, image) -> np.ndarray:
  arr = np.asarray(jax.device_get(image))
  if arr.ndim == 2:
    arr = arr[..., None]
  if arr.ndim == 3:
    arr = arr[None]
  if arr.ndim != 4 or arr.shape[-1] not in (1, 2, 3, 4) or 0 in arr.shape:
    raise ValueError(f"write_images: images[{tag!r}] must have shape [N, H, W, C],"
                     f" [H, W, C] or [H, W] with C in 1..4; got {np.shape(image)}")
  if arr.dtype == np.uint8:
    return arr
  if arr.dtype == bool:
    return arr.astype(np.uint8) * 255
  if np.issubdtype(arr.dtype, np.integer):
    return np.clip(arr, 0, 255).astype(np.uint8)
  if not np.issubdtype(arr.dtype, np.floating):
    raise ValueError(f"write_images: images[{tag!r}] has dtype {arr.dtype};"
                     " expected uint8, bool, int or float")
  arr = np.nan_to_num(arr.astype(np.float64), nan=0.0)
  return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  if not isinstance(tree, Mapping):
    raise TypeError(f"hparams must be a mapping name -> value; got {type(tree).__name__}")
  out = {}
  for key, value in tree.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping):
      out.update(_flatten(value, name + "."))
    else:
      out[name] = value
  return out


def _hparam_value(value):
  if isinstance(value, (np.generic, np.ndarray, jax.Array)) and np.size(value) == 1:
    value = np.asarray(value).item()
  if isinstance(value, (bool, int, float, str)):
    return value
  return str(value)
