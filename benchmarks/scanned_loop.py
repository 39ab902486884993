"""The hand-written reference loop the PINN benchmarks share: Adam(1e-3) on a
loss of the parameters, ``chunk`` steps per jitted ``lax.scan``, the state
kept on the device between chunks (what an expert writes by hand)."""

import statistics
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


def compare_alternating(runs: dict, n_chunks: int, repeats: int, steps_per_chunk: int,
                        header: str) -> dict:
  """Times every ``run(n_chunks) -> seconds`` in turn, ``repeats`` rounds,
  after a first call each (compile + one chunk, as a user sees it); prints
  steps/s, the ratio to the first run and the first call; returns steps/s."""
  first = {name: run(1) for name, run in runs.items()}
  times = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      times[name].append(run(n_chunks))
  rate = {name: n_chunks * steps_per_chunk / statistics.median(t) for name, t in times.items()}
  ref, width = next(iter(runs)), max(len(name) for name in runs)
  print(f"device: {jax.devices()[0].device_kind}; {header}; "
        f"{n_chunks * steps_per_chunk} steps per run, {repeats} alternating runs")
  print(f"{'loop':{width}s} {'steps/s':>9s} {'ratio':>7s} {'first chunk (s)':>16s}")
  for name in runs:
    print(f"{name:{width}s} {rate[name]:9.1f} {rate[name] / rate[ref]:7.3f} {first[name]:16.2f}")
  return rate
