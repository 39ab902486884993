"""The hand-written reference loop the PINN benchmarks share: Adam(1e-3) on a
loss of the parameters, ``chunk`` steps per jitted ``lax.scan``, the state
kept on the device between chunks (what an expert writes by hand)."""

import time

import jax
import optax


def scanned_adam_loop(loss, params, chunk: int = 100, lr: float = 1e-3):
  """``run(n_chunks) -> seconds`` training ``params`` on ``loss(params)``."""
  opt = optax.adam(lr)

  def step(carry, _):
    p, s = carry
    value, g = jax.value_and_grad(loss)(p)
    updates, s = opt.update(g, s, p)
    return (optax.apply_updates(p, updates), s), value

  @jax.jit
  def run_chunk(p, s):
    (p, s), values = jax.lax.scan(step, (p, s), None, length=chunk)
    return p, s, values[-1]

  state = {"p": params, "s": opt.init(params)}

  def run(n_chunks):
    start = time.perf_counter()
    for _ in range(n_chunks):
      state["p"], state["s"], value = run_chunk(state["p"], state["s"])
    value.block_until_ready()
    return time.perf_counter() - start
  return run
