"""The background thread that puts chunks of host batches on the device.

``Prefetcher`` runs a producer (an iterator of ``(n_steps, stacked host
batches)``) on a daemon thread, transfers each chunk with ``jax.device_put``
and keeps up to ``depth`` of them queued. The consumer (the fit loop) takes
them in order; an exception in the producer is re-raised in the consumer, and
``close`` stops the thread without waiting for the producer to finish.
"""

from __future__ import annotations

import queue
import threading

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from opifex_fit import data as data_lib

_POLL = 0.05  # seconds between checks of the stop flag while the queue is full


class _Failed:
  def __init__(self, error: BaseException):
    self.error = error


class Prefetcher:
  """Chunks of batches, on the device, ahead of the loop.

  Args:
    chunks: iterator of ``(n_steps, host tree with leading axes (K, B))``.
    put: host tree -> device tree (``jax.device_put`` with the shardings).
    depth: chunks queued on the device ahead of the one the loop takes.
  """

  def __init__(self, chunks, put, depth: int):
    self._chunks, self._put = chunks, put
    self._queue: queue.Queue = queue.Queue(maxsize=depth)
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, name="opifex-fit-prefetch", daemon=True)
    self._thread.start()

  def _offer(self, item) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=_POLL)
        return True
      except queue.Full:
        continue
    return False

  def _run(self):
    try:
      for n_steps, host in self._chunks:
        if not self._offer((n_steps, self._put(host))):
          return
    except BaseException as e:  # noqa: BLE001 - handed to the consumer
      self._offer(_Failed(e))

  def get(self, n_steps: int):
    """The next chunk's batches (blocks until the producer has them)."""
    item = self._queue.get()
    if isinstance(item, _Failed):
      raise item.error
    got, batches = item
    if got != n_steps:  # the producer follows the loop's own chunk plan
      raise RuntimeError(f"prefetcher out of step: chunk of {got} steps, loop wants {n_steps}")
    return batches

  def close(self):
    self._stop.set()
    while True:  # frees the queued device buffers and unblocks the producer
      try:
        self._queue.get_nowait()
      except queue.Empty:
        break
    self._thread.join(timeout=10)


def chunk_plan(step: int, chunk: int, target: int):
  """The step counts of the loop's chunks from ``step`` to ``target``."""
  while step < target:
    n = data_lib.chunk_steps(step, chunk, target)
    yield n
    step += n


def host_batch(batch, like, where: str, *, any_length: bool = False):
  """One host batch as numpy in the structure, shapes and dtypes of ``like``.

  Raises ValueError naming ``where`` on a mismatch or non-finite values, since
  a batch of another shape would recompile the chunk.
  """
  leaves, like_leaves = jax.tree.leaves(batch), jax.tree.leaves(like)
  if len(leaves) != len(like_leaves):
    raise ValueError(f"{where} has {len(leaves)} arrays; expected {len(like_leaves)} like "
                     f"the first batch, {jax.tree.map(np.shape, like)}")
  out = []
  for i, (a, ref) in enumerate(zip(leaves, like_leaves)):
    a = np.asarray(a)
    shape_ok = a.shape[1:] == ref.shape[1:] if any_length else a.shape == ref.shape
    if not shape_ok or np.dtype(a.dtype).kind != np.dtype(ref.dtype).kind:
      raise ValueError(f"{where}: array {i} has shape {a.shape} and dtype {a.dtype}; every "
                       f"batch must have the first batch's shape {ref.shape} and dtype "
                       f"{ref.dtype} (drop or pad a short last batch)")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
      raise ValueError(f"{where}: array {i} holds non-finite values (NaN/inf); expected "
                       "finite data")
    out.append(a.astype(ref.dtype, copy=False))
  return jax.tree.unflatten(jax.tree.structure(like), out)


def stacked_sharding(placement, leaf) -> NamedSharding | None:
  """For a ``(K, B, ...)`` leaf: split B over the data axis when it divides."""
  if placement is None:
    return None
  if leaf.ndim >= 2 and leaf.shape[1] % placement.size == 0:
    return NamedSharding(placement.mesh, P(None, placement.axis))
  return placement.replicated
