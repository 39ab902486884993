"""Data off the device: HostDataset and iterables of batches, prefetched in chunks.

Checked against a hand-written optax loop over the same batches; chunked
execution keeps one compile; a resumed fit sees the uninterrupted batches;
the producer runs ahead of the device; bad batches are refused by name.
"""

import os
import subprocess
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb
from opifex_fit.inputs.prefetch import Prefetcher
from support import make_learner, sine_data

N, B = 100, 25  # four minibatches per epoch


def batches_in_order(x, y, steps):
  return [(x[i % 4 * B:(i % 4 + 1) * B], y[i % 4 * B:(i % 4 + 1) * B]) for i in range(steps)]


def params(learner):
  return jax.device_get(jax.tree.leaves(learner.state.params))


def test_host_dataset_matches_a_hand_written_optax_loop():
  x, y = sine_data(N)
  learner = make_learner()
  model = nnx.clone(learner.model)
  learner.fit(of.HostDataset((x, y), shuffle=False), steps=12, batch_size=B, verbose=0,
              steps_per_execution=4)

  graphdef, p, rest = nnx.split(model, nnx.Param, ...)
  opt = optax.adam(3e-3)
  opt_state = opt.init(p)

  @jax.jit
  def step(p, opt_state, xb, yb):
    loss = lambda p: jnp.mean((nnx.merge(graphdef, p, rest)(xb) - yb) ** 2)
    updates, opt_state = opt.update(jax.grad(loss)(p), opt_state, p)
    return optax.apply_updates(p, updates), opt_state

  for xb, yb in batches_in_order(x, y, 12):
    p, opt_state = step(p, opt_state, xb, yb)
  for got, want in zip(params(learner), jax.tree.leaves(p), strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  assert learner.step == 12 and learner.epoch == 3


def test_an_iterable_of_batches_trains_like_the_host_dataset_bit_for_bit():
  x, y = sine_data(N)
  a, b, c = make_learner(), make_learner(), make_learner()
  a.fit(of.HostDataset((x, y), shuffle=False), steps=12, batch_size=B, verbose=0)
  b.fit(of.Batches(batches_in_order(x, y, 4)), epochs=3, verbose=0)  # re-iterated per epoch
  c.fit(iter(batches_in_order(x, y, 12)), steps=12, verbose=0)     # a plain iterator
  for u, v, w in zip(params(a), params(b), params(c), strict=True):
    np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(u, w)
  assert b.epoch == 3 and c.epoch == 0  # an iterator without len() has no epochs


def test_chunks_compile_once_across_chunks_and_fits():
  x, y = sine_data(N)
  learner = make_learner()
  data = of.HostDataset((x.astype(np.float64), y))  # float64 on the host, float32 trained
  learner.fit(data, steps=40, batch_size=B, verbose=0, steps_per_execution=8)
  learner.fit(data, steps=40, batch_size=B, verbose=0, steps_per_execution=8)
  assert learner.trace_counts["chunk"] == 1 and learner.step == 80
  # The chunk is capped so one chunk of batches stays under chunk_bytes: a
  # buffer of 3 batches; chunks of 3 and 1 steps (epochs of 4, validated) share one compile.
  small = make_learner()
  history = small.fit(of.HostDataset((x, y), chunk_bytes=3 * B * 8), steps=12, batch_size=B,
                      verbose=0, validation_data=(x[:8], y[:8]))
  assert {k[1] for k in small._jit_cache if k[0] == "chunk"} == {3}
  assert history.steps == [3, 4, 7, 8, 11, 12] and small.trace_counts["chunk"] == 1


def test_resume_from_a_checkpoint_sees_the_uninterrupted_minibatches(tmp_path):
  x, y = sine_data(N)

  def fit(directory, steps):
    learner = make_learner()
    learner.fit(of.HostDataset((x, y)), steps=steps, batch_size=B, verbose=0,
                callbacks=[cb.Checkpoint(directory, every=6, verbose=0)])
    return learner

  fit(tmp_path / "a", 18)                   # stops in the middle of the fifth epoch
  resumed, reference = fit(tmp_path / "a", 30), fit(tmp_path / "b", 30)
  assert resumed.step == reference.step == 30
  for u, v in zip(params(resumed), params(reference), strict=True):
    np.testing.assert_array_equal(u, v)
  assert resumed.history["loss"] == reference.history["loss"]


def test_every_pass_is_a_fresh_permutation_of_all_examples():
  ds = of.HostDataset((np.arange(10.0)[:, None],), seed=3)
  plan = iter([3, 3])  # two chunks of 3 steps, batch 4: passes of 3 batches (12 rows)
  chunks = list(ds.chunks(plan, like=(np.zeros((4, 1), np.float32),), seed=3, batch_size=4,
                          spe=3, step=0, pos=0))
  first, second = (c[1][0].reshape(-1) for c in chunks)
  assert sorted(first[:10]) == list(range(10)) and list(first[10:]) == list(first[:2])
  assert sorted(second[:10]) == list(range(10)) and list(first) != list(second)


def test_the_producer_runs_ahead_of_the_device():
  x, y = sine_data(N)
  pulled = []

  def source():
    for xb, yb in batches_in_order(x, y, 80):
      pulled.append(1)
      yield xb, yb

  seen = {}

  def at_first_boundary(learner):
    if not seen:
      time.sleep(0.5)  # the device is idle here; the producer must not be
      seen["pulled"] = len(pulled)

  learner = make_learner()
  learner.fit(of.Batches(source(), prefetch=2), steps=80, verbose=0, steps_per_execution=10,
              callbacks=[of.callbacks.LambdaCallback(on_step_end=at_first_boundary, every=10)])
  # Chunk 1 trained, chunks 2 and 3 read and queued; no more (the read-ahead bound).
  assert seen["pulled"] == 30


def counted_batches(pulled, n=200):
  """Batch i has x filled with i; ``pulled`` records every batch read."""
  for i in range(n):
    pulled.append(i)
    yield np.full((B, 1), i, np.float32), np.zeros((B, 1), np.float32)


def test_an_early_stop_reads_at_most_the_bound_and_gives_the_rest_back():
  # Issue 12, L3: batches read ahead and never trained on were lost.
  pulled, learner = [], make_learner()
  stream = of.Batches(counted_batches(pulled), prefetch=2)
  stop = of.callbacks.LambdaCallback(
      on_step_end=lambda l: setattr(l, "stop_training", l.step == 20), every=10)
  learner.fit(stream, steps=200, verbose=0, steps_per_execution=10, callbacks=[stop])
  assert learner.step == 20
  assert len(pulled) <= 20 + 2 * 10  # at most prefetch chunks ahead
  assert stream.first()[0][0, 0] == 20  # the first untrained batch is next
  learner.fit(stream, steps=10, verbose=0, steps_per_execution=10)
  assert stream.first()[0][0, 0] == 30 and len(pulled) == 40  # served from what came back


def blocked_source(reads, release, reading):
  for i in range(10):
    reads.append(i)
    if i == 1:
      reading.set()
      release.wait()
    yield 1, np.zeros(1)


def test_close_waits_for_a_read_in_progress_and_no_read_follows():
  reads, release, reading = [], threading.Event(), threading.Event()
  prefetcher = Prefetcher(blocked_source(reads, release, reading), lambda h: h, depth=5)
  assert reading.wait(10)
  closer = threading.Thread(target=prefetcher.close)
  closer.start()
  closer.join(0.3)
  assert closer.is_alive()  # close does not return while the producer reads
  release.set()
  closer.join(10)
  assert not closer.is_alive() and reads == [0, 1]
  assert not [t for t in threading.enumerate() if t.name == "opifex-fit-prefetch"]


@pytest.mark.slow
def test_a_read_longer_than_any_timeout_never_leaves_two_readers():
  reads, release, reading = [], threading.Event(), threading.Event()
  prefetcher = Prefetcher(blocked_source(reads, release, reading), lambda h: h, depth=5)
  assert reading.wait(10)
  threading.Timer(12.0, release.set).start()  # longer than the old 10 s join timeout
  prefetcher.close()
  assert not [t for t in threading.enumerate() if t.name == "opifex-fit-prefetch"]


def test_evaluate_and_predict_work_from_host_memory():
  x, y = sine_data(N)
  learner = make_learner()
  learner.fit((x, y), steps=20, verbose=0)
  want = learner.evaluate((x, y))["loss"]
  got = learner.evaluate(of.HostDataset((x, y)), batch_size=30)  # a short last batch
  np.testing.assert_allclose(got["loss"], want, rtol=1e-5)
  np.testing.assert_allclose(learner.evaluate(batches_in_order(x, y, 4).__iter__())["loss"],
                             want, rtol=1e-5)
  np.testing.assert_allclose(learner.predict(x, batch_size=30), learner.predict(x), rtol=1e-6)
  history = learner.fit(of.HostDataset((x, y)), epochs=2, batch_size=B, verbose=0,
                        validation_data=of.HostDataset((x, y)))
  assert history.steps[-2:] == [24, 28] and np.all(np.isfinite(history["val_loss"][-2:]))


def test_bad_streams_are_refused_by_name():
  x, y = sine_data(N)
  learner = make_learner()
  with pytest.raises(ValueError, match="HostDataset is trained in minibatches"):
    learner.fit(of.HostDataset((x, y)), steps=5, verbose=0)
  with pytest.raises(ValueError, match="batch_size=10 cannot apply to an iterable"):
    learner.fit(iter(batches_in_order(x, y, 5)), steps=5, batch_size=10, verbose=0)
  with pytest.raises(ValueError, match="epochs=2 needs a known epoch length"):
    learner.fit(iter(batches_in_order(x, y, 5)), epochs=2, verbose=0)
  with pytest.raises(ValueError, match="share one leading"):
    of.HostDataset((x, y[:50]))
  with pytest.raises(ValueError, match="prefetch must be a positive int"):
    of.HostDataset((x, y), prefetch=0)
  with pytest.raises(TypeError, match="one-shot iterator"):
    learner.fit((x, y), steps=5, verbose=0, validation_data=iter(batches_in_order(x, y, 2)))
  assert learner.trace_counts == {}  # all refused before compiling
  with pytest.raises(ValueError, match=r"data: the iterable ran out after 5 batches"):
    learner.fit(iter(batches_in_order(x, y, 5)), steps=8, verbose=0)
  short = batches_in_order(x, y, 3) + [(x[:10], y[:10])]
  with pytest.raises(ValueError, match=r"data batch 3: array 0 has shape \(10, 1\)"):
    learner.fit(iter(short), steps=4, verbose=0, steps_per_execution=1)
  poisoned = [(xb, np.full_like(yb, np.nan)) for xb, yb in batches_in_order(x, y, 2)]
  with pytest.raises(ValueError, match="non-finite"):
    learner.fit(iter(batches_in_order(x, y, 1) + poisoned), steps=3, verbose=0,
                steps_per_execution=1)


MESH_SCRIPT = """
import json, numpy as np, optax
from flax import nnx
import opifex_fit as of
x = np.random.default_rng(0).uniform(-1, 1, (96, 1)).astype(np.float32); y = np.sin(3 * x)
out = {}
for name, mesh in (("mesh", of.data_parallel_mesh()), ("single", None)):
  learner = of.Learner(of.models.MLP(1, [16, 16, 1], rngs=nnx.Rngs(0)), of.Supervised(),
                       optax.adam(3e-3), mesh=mesh)
  h = learner.fit(of.HostDataset((x, y)), steps=24, batch_size=24, verbose=0,
                  validation_data=of.HostDataset((x, y)))
  out[name] = [h["loss"], h["val_loss"], learner.trace_counts["chunk"]]
print("RESULT " + json.dumps(out))
"""


def test_host_batches_are_split_over_a_four_device_mesh():
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_force_host_platform_device_count=4")
  proc = subprocess.run([sys.executable, "-c", MESH_SCRIPT], env=env, capture_output=True,
                        text=True, timeout=240)
  assert proc.returncode == 0, proc.stderr[-3000:]
  import json
  out = json.loads(proc.stdout.split("RESULT ")[-1])
  np.testing.assert_allclose(out["mesh"][0], out["single"][0], rtol=2e-5)
  np.testing.assert_allclose(out["mesh"][1], out["single"][1], rtol=2e-5)
  assert out["mesh"][2] == 1


def test_host_dataset_passes_shared_inputs_whole():
  # DeepONet's aligned queries (1, P, 1) ride along with every minibatch.
  from opifex_fit.datasets import antiderivative
  (v, y), u = antiderivative(48, n_sensors=20, n_queries=10, cache_dir=None)

  def fit(queries):
    model = of.models.DeepONet([20, 16, 16], [1, 16, 16], rngs=nnx.Rngs(0))
    learner = of.Learner(model, of.Supervised("relative_l2"), optax.adam(2e-3))
    learner.fit(of.HostDataset(((v, queries), u), shuffle=False), steps=12, batch_size=16,
                verbose=0)
    return learner

  shared, repeated = fit(y[:1]), fit(y)
  for a, b in zip(params(shared), params(repeated), strict=True):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
  np.testing.assert_allclose(shared.evaluate(of.HostDataset(((v, y[:1]), u)), batch_size=20)["loss"],
                             repeated.evaluate(((v, y), u))["loss"], rtol=2e-5)


def test_memory_mapped_arrays_train_and_no_thread_outlives_a_fit(tmp_path):
  x, y = sine_data(N)
  np.save(tmp_path / "x.npy", x)
  np.save(tmp_path / "y.npy", y)
  mapped = (np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r"))
  a, b = make_learner(), make_learner()
  a.fit(of.HostDataset(mapped), steps=12, batch_size=B, verbose=0)
  b.fit(of.HostDataset((x, y)), steps=12, batch_size=B, verbose=0)
  for u, v in zip(params(a), params(b), strict=True):
    np.testing.assert_array_equal(u, v)
  # Stopped early by a callback, or failed: the producer thread is gone either way.
  stopper = of.callbacks.LambdaCallback(
      on_step_end=lambda learner: setattr(learner, "stop_training", True), every=4)
  a.fit(of.HostDataset(mapped), steps=400, batch_size=B, verbose=0, callbacks=[stopper])
  with pytest.raises(ValueError, match="ran out"):
    a.fit(iter(batches_in_order(x, y, 3)), steps=8, verbose=0, steps_per_execution=4)
  assert a.step == 16
  assert not [t for t in threading.enumerate() if t.name == "opifex-fit-prefetch"]
