"""The background thread that puts chunks of host batches on the device.

``Prefetcher`` runs a producer (an iterator of ``(n_steps, stacked host
batches)``) on a daemon thread, transfers each chunk with ``jax.device_put``
and keeps up to ``depth`` of them queued. The consumer (the fit loop) takes
them in order; an exception in the producer is re-raised in the consumer.

Read-ahead bound: the producer takes a queue slot *before* it reads a chunk,
so at most ``depth`` chunks (``depth * K`` batches) have been read from the
source and not yet handed to the loop, whatever the speed of either side.
``close`` stops the producer and waits for it (a read in progress finishes;
no read starts after the stop), so no two threads ever read one iterator; the
chunks read but never trained on go back through ``give_back`` in order.
"""

from __future__ import annotations

import queue
import threading

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P


_POLL = 0.05  # seconds between checks of the stop flag while waiting for a slot


class _Failed:
  def __init__(self, error: BaseException):
    self.error = error


class Prefetcher:
  """Chunks of batches, on the device, ahead of the loop.

  Args:
    chunks: iterator of ``(n_steps, host tree with leading axes (K, B))``.
    put: host tree -> device tree (``jax.device_put`` with the shardings).
    depth: chunks read and queued ahead of the one the loop takes (the bound).
    give_back: called by ``close`` with the host trees of the chunks read but
      not taken, oldest first (None: they are dropped).
  """

  def __init__(self, chunks, put, depth: int, give_back=None):
    self._chunks, self._put, self._give_back = chunks, put, give_back
    self._queue: queue.Queue = queue.Queue()
    self._slots = threading.Semaphore(depth)
    self._stop = threading.Event()
    self._unqueued: list = []  # a chunk read after the stop (kept to give back)
    self._thread = threading.Thread(target=self._run, name="opifex-fit-prefetch", daemon=True)
    self._thread.start()

  def _slot(self) -> bool:
    while not self._stop.is_set():
      if self._slots.acquire(timeout=_POLL):
        return True
    return False

  def _run(self):
    try:
      while self._slot():
        item = next(self._chunks, None)
        if item is None:
          return
        n_steps, host = item
        if self._stop.is_set():
          self._unqueued.append(host)
          return
        keep = host if self._give_back is not None else None
        self._queue.put((n_steps, self._put(host), keep))
    except BaseException as e:  # noqa: BLE001 - handed to the consumer
      self._queue.put(_Failed(e))

  def get(self):
    """``(n_steps, batches)`` of the next chunk (blocks until the producer has
    them): the loop runs the chunk lengths the producer's plan yields."""
    item = self._queue.get()
    if isinstance(item, _Failed):
      raise item.error
    self._slots.release()  # the producer may read one more chunk
    n_steps, batches, _ = item
    return n_steps, batches

  def close(self):
    """Stops the producer, waits for it, frees the queue, gives back what was read."""
    self._stop.set()
    self._thread.join()  # it waits for nothing but a read in progress
    left = []
    while True:
      try:
        item = self._queue.get_nowait()
      except queue.Empty:
        break
      if not isinstance(item, _Failed) and item[2] is not None:
        left.append(item[2])
    left += self._unqueued
    if self._give_back is not None and left:
      self._give_back(left)


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


def pad_chunk(host, buffer: int):
  """Stacked ``(n, B, ...)`` host batches in a buffer of ``buffer`` rows (the
  chunk's fixed input shape: one compile for every ``n``); the rows past
  ``n`` repeat the last batch and are never trained on."""
  def pad(a):
    n = a.shape[0]
    return a if n == buffer else np.concatenate([a, np.repeat(a[-1:], buffer - n, axis=0)])
  return jax.tree.map(pad, host)
