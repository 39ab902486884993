"""How the jitted chunk loops over its steps: a static ``lax.scan`` against a
``lax.fori_loop`` whose step count is a traced argument (one compile for
every chunk length), and a scan of the longest length with a traced active
count (steps past it skipped by ``lax.cond``).

Workload: an MLP 1-64-64-1 regression, Adam(1e-3), 512 points full batch,
100 steps per chunk, as ``scanned_loop.scanned_adam_loop`` writes it by hand.
Runs alternate in one process (load hits all alike); reported: steps/s after
compile (median), the first chunk (compile + run) and the ratio to the
static scan. The engine keeps the traced formulation if it is within noise
of the static one (``engine/chunk.py``).

Run: ``python benchmarks/chunk_formulation.py [--chunks 20] [--repeats 5]``
"""

import argparse
import time

import jax
import jax.numpy as jnp
import optax

from scanned_loop import compare_alternating

CHUNK = 100


def make_problem(width: int = 64, n: int = 512):
  keys = jax.random.split(jax.random.key(0), 4)
  x = jax.random.uniform(keys[0], (n, 1), minval=-1, maxval=1)
  y = jnp.sin(3 * x)
  params = [(jax.random.normal(k, (a, b)) / jnp.sqrt(a), jnp.zeros(b))
            for k, (a, b) in zip(keys[1:], [(1, width), (width, width), (width, 1)])]

  def loss(p):
    h = x
    for w, b in p[:-1]:
      h = jnp.tanh(h @ w + b)
    return jnp.mean((h @ p[-1][0] + p[-1][1] - y) ** 2)
  return loss, params


def runner(loss, params, mode: str):
  """``run(n_chunks) -> seconds`` with the chunk written as ``mode``."""
  opt = optax.adam(1e-3)

  def step(carry):
    p, s = carry
    g = jax.grad(loss)(p)
    updates, s = opt.update(g, s, p)
    return optax.apply_updates(p, updates), s

  @jax.jit
  def static_scan(p, s, n):
    del n  # the length is baked in
    return jax.lax.scan(lambda c, _: (step(c), None), (p, s), None, length=CHUNK)[0]

  @jax.jit
  def traced_fori(p, s, n):
    return jax.lax.fori_loop(0, n, lambda i, c: step(c), (p, s))

  @jax.jit
  def masked_scan(p, s, n):
    def body(c, i):
      return jax.lax.cond(i < n, step, lambda c: c, c), None
    return jax.lax.scan(body, (p, s), jnp.arange(CHUNK))[0]

  chunk = {"static scan": static_scan, "traced fori_loop": traced_fori,
           "masked scan": masked_scan}[mode]
  state = {"p": params, "s": opt.init(params)}

  def run(n_chunks):
    start = time.perf_counter()
    for _ in range(n_chunks):
      state["p"], state["s"] = chunk(state["p"], state["s"], CHUNK)
    jax.block_until_ready(state["p"])
    return time.perf_counter() - start
  return run


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--chunks", type=int, default=20)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  loss, params = make_problem()
  runs = {mode: runner(loss, params, mode)
          for mode in ("static scan", "traced fori_loop", "masked scan")}
  compare_alternating(runs, args.chunks, args.repeats, CHUNK,
                      "MLP 1-64-64-1, Adam, 512 points, chunks of 100 steps")


if __name__ == "__main__":
  main()
