"""Training data that stays off the device: host arrays, or any iterable of batches.

``fit`` takes three kinds of data. Arrays (the default) are moved to the
device once and minibatches are drawn there. The two kinds here are for data
that should not sit on the device:

* ``HostDataset(arrays)``: numpy arrays (``np.load(..., mmap_mode="r")`` works)
  in host memory, minibatched with ``fit(batch_size=...)``. Every pass is a
  fresh permutation seeded by (seed, step at which the pass starts); the last
  minibatch wraps around to the start, as on the device.
* ``Batches(iterable)``, or any iterable passed to ``fit`` directly (a
  generator, a Grain or PyTorch DataLoader yielding numpy): ready batches of
  one fixed shape. An epoch is ``len(iterable)`` batches, or
  ``steps_per_epoch``; without either, pass ``fit(steps=...)``.

A background thread gathers the n minibatches of the next chunk (n from the
fit's ``engine.plan``), stacks them into a buffer of fixed length (one
compile for every n) and transfers it (split over the data axis on a mesh)
into a queue ``prefetch`` chunks deep while the device trains on the first n
rows of the current one. Chunks are capped so one buffer stays under
``chunk_bytes``.

During such a fit ``learner.data`` is None (the data is not on the device);
callbacks that rewrite the training data (RAD, RARD) need arrays.

Read-ahead: at most ``prefetch`` chunks (``prefetch * K`` batches) are read
from the source ahead of the chunk the device trains on (``opifex_fit.
prefetch``). When a fit stops early, the batches read but not trained on go
back into the ``Batches`` object, so a later ``fit`` on the same ``Batches``
starts with the first untrained batch; an iterator passed to ``fit`` directly
is wrapped anew by every fit and loses them (wrap it in ``of.Batches`` once).

Resuming: a ``HostDataset``'s order is a function of its seed and the
checkpointed step and batch position, so a resumed fit sees exactly the
minibatches of an uninterrupted one. A ``Batches`` iterable continues from
wherever its iterator is (less what was given back, see above), as in Keras;
restore it yourself for an exact resume (e.g. Grain's checkpointable
iterators).

Example:
  >>> import numpy as np, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> x = np.random.default_rng(0).uniform(-1, 1, (1000, 1)).astype(np.float32)
  >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), of.Supervised())
  >>> history = learner.fit(of.HostDataset((x, x ** 2)), epochs=2, batch_size=100, verbose=0)
  >>> learner.step
  20
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jax
import numpy as np

from opifex_fit.inputs import batching
from opifex_fit import validators
from opifex_fit.inputs.prefetch import Prefetcher, host_batch, pad_chunk, stacked_sharding
from opifex_fit.problems.supervised import example_count

CHUNK_BYTES = 256 * 2**20


class HostDataset:
  """Arrays in host memory, minibatched and prefetched to the device.

  Args:
    data: a pytree of arrays sharing one leading (example) dimension, in the
      form the problem expects (``(x, y)`` for ``Supervised``). Kept by
      reference: nothing is copied until a minibatch is gathered.
    shuffle: a fresh permutation every pass (False: in order).
    seed: seeds the permutations (None: the learner's seed).
    prefetch: chunks of batches queued on the device ahead of the one running.
    chunk_bytes: most bytes of batches in one chunk (caps K).
  """

  def __init__(self, data, *, shuffle: bool = True, seed: int | None = None,
               prefetch: int = 2, chunk_bytes: int = CHUNK_BYTES):
    leaves = jax.tree.leaves(data)
    if not leaves or not all(hasattr(a, "shape") and hasattr(a, "dtype") for a in leaves):
      raise TypeError(f"HostDataset: data must be a pytree of numpy arrays; got "
                      f"{jax.tree.map(lambda a: type(a).__name__, data)}")
    n = example_count(data)
    if n is None:
      raise ValueError(f"HostDataset: every array of data must share one leading (example) "
                       f"dimension (or have 1 there: shared by all examples); got shapes "
                       f"{jax.tree.map(np.shape, data)}")
    if not isinstance(shuffle, bool):
      raise TypeError(f"HostDataset: shuffle must be a bool; got {shuffle!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
      raise TypeError(f"HostDataset: seed must be an int or None; got {seed!r}")
    self.data, self.shuffle, self.seed = data, shuffle, seed
    self.num_examples = n
    self.prefetch = validators.positive_int(prefetch, "prefetch", allow_none=False)
    self.chunk_bytes = validators.positive_int(chunk_bytes, "chunk_bytes", allow_none=False)

  def __len__(self):
    return self.num_examples

  def __repr__(self):
    return (f"HostDataset({self.num_examples} examples, shuffle={self.shuffle}, "
            f"seed={self.seed}, prefetch={self.prefetch})")

  def _shared(self, a) -> bool:
    return a.shape[0] == 1 < self.num_examples

  def gather(self, index):
    """The examples at ``index``; shared arrays (leading dimension 1) whole."""
    return jax.tree.map(lambda a: np.asarray(a if self._shared(a) else a[index]), self.data)

  def order(self, seed: int, pass_start: int, padded: int) -> np.ndarray:
    """The example order of the pass that starts at step ``pass_start``."""
    n = self.num_examples
    perm = np.random.default_rng([seed, pass_start]).permutation(n) if self.shuffle \
        else np.arange(n)
    return np.concatenate([perm, perm[:padded - n]]) if padded > n else perm

  def chunks(self, plan, *, like, seed, batch_size, spe, step, pos):
    """Host minibatches stacked per chunk: yields ``(n_steps, (K, B, ...) tree)``
    in the dtypes of ``like`` (the checked first batch)."""
    order, order_start = None, None
    for n_steps in plan:
      rows = []
      for _ in range(n_steps):
        if order is None or order_start != step - pos:
          order_start = step - pos
          order = self.order(seed, order_start, spe * batch_size)
        rows.append(order[pos * batch_size:(pos + 1) * batch_size])
        step, pos = step + 1, (pos + 1) % spe
      index = np.concatenate(rows)
      batch = host_batch(self.gather(index), like, f"data (examples of step {step - n_steps}"
                         f" onwards)", any_length=True)
      yield n_steps, jax.tree.map(
          lambda a, src: np.broadcast_to(a, (n_steps, *a.shape)) if self._shared(src)
          else a.reshape(n_steps, batch_size, *a.shape[1:]), batch, self.data)

  def batches(self, batch_size: int):
    """Every example once, in order, in batches (for evaluation)."""
    for i in range(0, self.num_examples, batch_size):
      yield self.gather(slice(i, min(i + batch_size, self.num_examples)))


class Batches:
  """An iterable of ready batches (e.g. a Grain ``DataLoader``) as fit data.

  Args:
    iterable: yields batches in the problem's form, all of one shape (drop a
      short last batch: Grain's ``drop_remainder=True``). Re-iterated for each
      epoch when it is not a one-shot iterator.
    steps_per_epoch: batches per epoch (default ``len(iterable)`` if it has
      one; otherwise epochs never end and ``fit`` needs ``steps=``).
    prefetch: chunks of batches queued on the device ahead of the one running.
    chunk_bytes: most bytes of batches in one chunk (caps K).
  """

  def __init__(self, iterable, *, steps_per_epoch: int | None = None, prefetch: int = 2,
               chunk_bytes: int = CHUNK_BYTES):
    if not isinstance(iterable, Iterable):
      raise TypeError(f"Batches: iterable must be an iterable of batches; got "
                      f"{type(iterable).__name__}")
    spe = validators.positive_int(steps_per_epoch, "steps_per_epoch")
    if spe is None and hasattr(iterable, "__len__"):
      spe = len(iterable) or None
    self.iterable, self.steps_per_epoch = iterable, spe
    self.prefetch = validators.positive_int(prefetch, "prefetch", allow_none=False)
    self.chunk_bytes = validators.positive_int(chunk_bytes, "chunk_bytes", allow_none=False)
    self.one_shot = iter(iterable) is iterable
    self._iterator, self._peeked, self._taken = None, [], 0

  def __repr__(self):
    return f"Batches({type(self.iterable).__name__}, steps_per_epoch={self.steps_per_epoch})"

  def _next(self):
    if self._peeked:
      return self._peeked.pop()
    if self._iterator is None:
      self._iterator = iter(self.iterable)
    try:
      batch = next(self._iterator)
    except StopIteration:
      if self.one_shot or self._taken == 0:
        raise ValueError(f"data: the iterable ran out after {self._taken} batches and cannot"
                         " be restarted (a one-shot iterator); pass fewer steps, or a"
                         " re-iterable (a list, a DataLoader)") from None
      self._iterator, self._taken = iter(self.iterable), 0
      return self._next()
    self._taken += 1
    return batch

  def first(self):
    """The next batch, left in place to be trained on (to check shapes)."""
    if not self._peeked:
      self._peeked.append(self._next())
    return self._peeked[-1]

  def give_back(self, chunks) -> None:
    """Puts chunks read but never trained on (stacked ``(K, ...)`` host trees,
    oldest first) back in front of the iterator, batch by batch."""
    for stacked in reversed(chunks):
      k = len(jax.tree.leaves(stacked)[0])
      for i in reversed(range(k)):
        self._peeked.append(jax.tree.map(lambda a, i=i: a[i], stacked))

  def chunks(self, plan, *, like):
    index = 0
    for n_steps in plan:
      rows = []
      for _ in range(n_steps):
        rows.append(host_batch(self._next(), like, f"data batch {index}"))
        index += 1
      yield n_steps, jax.tree.map(lambda *a: np.stack(a), *rows)

  def batches(self, batch_size=None):
    """One pass (a one-shot iterator is consumed; fit's validation refuses those)."""
    del batch_size  # the iterable's own
    yield from self.iterable


def as_stream(data):
  """``data`` as a HostDataset/Batches, or None for in-memory arrays.

  A tuple, list, mapping or array is the problem's own data form; any other
  iterable (a generator, a DataLoader) is a stream of batches.
  """
  if isinstance(data, (HostDataset, Batches)):
    return data
  if data is None or isinstance(data, (tuple, list, Mapping, np.ndarray, jax.Array, str, bytes)):
    return None
  if isinstance(data, Iterable):
    return Batches(data)
  return None


def chunk_cap(stream, first_batch) -> int:
  """The longest chunk whose stacked batches fit in ``stream.chunk_bytes``."""
  nbytes = sum(a.size * a.dtype.itemsize for a in jax.tree.leaves(first_batch))
  return max(1, stream.chunk_bytes // max(1, nbytes))


def evaluate(learner, stream, batch_size, evaluate_batch) -> dict:
  """Example-weighted mean of ``evaluate_batch(batch)`` (the jitted evaluation
  of one prepared batch) over the stream's batches."""
  if isinstance(stream, HostDataset) and batch_size is None:
    batch_size = min(stream.num_examples, 1024)
  batch_size = validators.positive_int(batch_size, "batch_size")
  problem, like = learner.problem, []

  def results():
    for i, batch in enumerate(stream.batches(batch_size)):
      if not like:  # the first batch is checked against the model
        like.append(problem.prepare(learner.model, batch, "data"))
        batch = like[0]
      else:
        batch = jax.tree.map(jax.numpy.asarray,
                             host_batch(batch, like[0], f"data batch {i}", any_length=True))
      yield evaluate_batch(batch), problem.num_examples(batch)
  return batching.example_weighted_mean(results())


def check(learner, stream, batch_size):
  """Checks a stream against the problem and model before anything compiles.

  Returns ``(first batch on device, num_examples, batch_size, steps_per_epoch)``.
  """
  if isinstance(stream, HostDataset):
    batch_size = validators.check_batch_size(batch_size, stream.num_examples)
    if batch_size is None:
      raise ValueError(f"a HostDataset is trained in minibatches: pass batch_size (at most "
                       f"{stream.num_examples}); got batch_size=None")
    first = stream.gather(np.arange(batch_size))
    spe = batching.steps_per_epoch(stream.num_examples, batch_size)
  else:
    if batch_size is not None:
      raise ValueError(f"batch_size={batch_size!r} cannot apply to an iterable of ready "
                       "batches (they have their own size); pass batch_size=None")
    first, spe = stream.first(), stream.steps_per_epoch
  first = learner.problem.prepare(learner.model, first, "data (first batch)")
  return first, getattr(stream, "num_examples", None), batch_size, spe


def feed(learner, stream, like, *, batch_size, spe, plan, buffer, pos):
  """The background producer of the chunks ``plan`` sizes, in ``buffer`` rows, placed."""
  placement = learner.placement
  if isinstance(stream, HostDataset):
    seed = learner.seed if stream.seed is None else stream.seed
    chunks = stream.chunks(plan, like=like, seed=seed, batch_size=batch_size, spe=spe,
                           step=learner.step, pos=pos)
  else:
    chunks = stream.chunks(plan, like=like)
  if placement is None:
    def put(host):
      return jax.device_put(pad_chunk(host, buffer))
  else:
    def put(host):
      host = pad_chunk(host, buffer)
      return placement.place(host, jax.tree.map(lambda a: stacked_sharding(placement, a), host))
  give_back = stream.give_back if isinstance(stream, Batches) else None
  return Prefetcher(chunks, put, stream.prefetch, give_back)
