"""Runs in a subprocess with faked CPU devices (``test_sharding.py`` starts it).

  python sharding_worker.py compare                  # 4 devices: mesh vs one device, JSON out
  python sharding_worker.py checkpoint DIR STEPS     # fit to STEPS with Checkpoints under DIR
  python sharding_worker.py multihost PORT ID DIR    # one of two jax.distributed processes

The device count comes from ``XLA_FLAGS`` (set by the test); with more than
one device the fits use ``of.data_parallel_mesh()``.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]  # this checkout's opifex_fit, and support.py

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

import opifex_fit as of  # noqa: E402
from opifex_fit import callbacks as cb  # noqa: E402


def supervised_learner(mesh=None):
  model = of.models.MLP(1, [16, 16, 1], rngs=nnx.Rngs(0))
  return of.Learner(model, of.Supervised("mse"), optax.adam(3e-3), seed=0, mesh=mesh)


def sine(n, seed=0):
  x = np.random.default_rng(seed).uniform(-1, 1, (n, 1)).astype(np.float32)
  return x, np.sin(3 * x)


def poisson_problem():
  def residual(x, u, d):
    return d["xx"] + jnp.pi ** 2 * jnp.sin(jnp.pi * x[0])
  return of.PDEProblem(residual, of.Interval("x", 0, 1), conditions=[of.DirichletBC(0.0)],
                       weights={"bc": 10.0})


def pinn_learner(mesh=None):
  model = of.models.MLP(1, [16, 16, 1], rngs=nnx.Rngs(0))
  return of.Learner(model, poisson_problem(), optax.adam(3e-3), seed=0, mesh=mesh)


def pinn_checkpointed(directory, steps, mesh=None):
  """50 collocation points grown by RARD to capacity 54 and 6 boundary points:
  none divides 4, so on 4 devices both terms are padded (RARD's buffer has
  its own masked free rows besides)."""
  learner = pinn_learner(mesh)
  callbacks = [cb.RARD(every=20, n_add=1, capacity=54, pool_size=100, verbose=0)]
  if directory is not None:
    callbacks.append(cb.Checkpoint(directory, every=20, verbose=0, async_save=False))
  data = poisson_problem().sample(n_interior=50, n_boundary=6)
  history = learner.fit(data, steps=steps, verbose=0, callbacks=callbacks)
  return learner, history, callbacks[-1]


def pool_split(learner, callback, *args):
  """What the compiled pool evaluation of RAD/RARD shows: per-device chunk
  shapes, collectives, output shardings."""
  # The callback's function, as learner.compile cached it: key (..., name, (callback, ...), ...).
  fn = next(f for k, f in learner._jit_cache.items()
            if k[0] == "service" and isinstance(k[2], tuple) and k[2][0] is callback)
  s = learner.state
  compiled = fn.lower(s.params, s.rest, s.loss_weights, learner.next_key(), *args).compile()
  text = compiled.as_text()
  return {"shapes": sorted(set(re.findall(r"f32\[\d+,1\]", text))),
          "collectives": sorted(set(re.findall(r"all-gather|all-reduce|all-to-all", text))),
          "out_specs": [str(s.spec) for s in jax.tree.leaves(compiled.output_shardings)]}


def compare():
  """Every fit twice, on the 4-device mesh and on one device; the histories."""
  mesh = of.data_parallel_mesh()
  out = {"devices": jax.device_count()}

  def both(name, make, data, callbacks=list, **kw):
    runs = []
    for m in (mesh, None):
      learner, cbs = make(m), callbacks()
      history = learner.fit(data, verbose=0, steps_per_execution=10, callbacks=cbs, **kw)
      runs.append({"loss": history.loss, "val": history["val_loss"] if "val_loss" in history
                   else None, "eval": learner.evaluate(data)["loss"],
                   "predict": np.asarray(learner.predict(np.linspace(0, 1, 7)[:, None]))
                   .ravel().tolist(), "traces": dict(learner.trace_counts),
                   "logs": {k: history[k] for k in history if k.endswith("_weight")
                            or k.startswith(("rad_", "rard_", "gradnorm_"))},
                   "data": jax.tree.map(lambda a: [list(a.shape), str(a.sharding.spec)],
                                        learner.state.data) if m is not None else None})
      if m is not None:
        mesh_run = learner, cbs
    out[name] = runs
    return mesh_run

  both("full_divisible", supervised_learner, sine(128), steps=40)
  both("full_uneven", supervised_learner, sine(130), steps=40)  # replicated leaves
  both("minibatch", supervised_learner, sine(130), epochs=6, batch_size=26,
       validation_data=sine(30, 1))
  problem = poisson_problem()
  # 62 interior and 6 boundary points: padded to 64 and 8 with masks on 4 devices.
  both("pinn_uneven", pinn_learner, problem.sample(n_interior=62, n_boundary=6), steps=40,
       validation_data=problem.sample(n_interior=31, n_boundary=3, seed=1))
  # The pools of RAD and RARD are evaluated in chunks of 40 points, 10 per device.
  learner, (rad,) = both("pinn_rad", pinn_learner, problem.sample(n_interior=62, n_boundary=6),
                         steps=40, callbacks=lambda: [cb.RAD(every=10, pool_size=200,
                                                             chunk_size=40)])
  out["rad_split"] = pool_split(learner, rad)
  # RARD's capacity 50 is padded to 52 rows on 4 devices: still 50 points at most.
  learner, (rard,) = both("pinn_rard", pinn_learner, problem.sample(n_interior=30, n_boundary=6),
                          steps=40, callbacks=lambda: [cb.RARD(every=10, n_add=8, capacity=50,
                                                               pool_size=200, chunk_size=40,
                                                               verbose=0)])
  pde = learner.state.data["pde"]
  out["rard_active"] = int(np.asarray(pde["mask"]).sum())
  out["rard_split"] = pool_split(learner, rard, pde["points"], pde["mask"])
  both("pinn_gradnorm", pinn_learner, problem.sample(n_interior=62, n_boundary=6), steps=40,
       callbacks=lambda: [cb.GradNorm(every=10)])

  # Callbacks writing weights, lr_scale and data keep shardings: one compile.
  learner = supervised_learner(mesh)
  x2, y2 = sine(128, seed=7)

  def mutate(lrn):
    lrn.loss_weights["data"] = 1.0 + lrn.step / 100
    lrn.lr_scale = 0.5
    lrn.data = (x2, y2 * (1 + lrn.step / 1000))
  learner.fit(sine(128), steps=40, verbose=0,
              callbacks=[cb.LambdaCallback(on_step_end=mutate, every=10)])
  specs = jax.tree.map(lambda a: str(a.sharding.spec), learner.state.data)
  out["mutate"] = {"traces": learner.trace_counts, "data_specs": specs,
                   "weight_spec": str(learner.state.loss_weights["data"].sharding.spec)}
  print("RESULT " + json.dumps(out))


def checkpoint(directory, steps):
  """A supervised fit (minibatches) and a PINN fit, each with its own Checkpoint."""
  mesh = of.data_parallel_mesh() if jax.device_count() > 1 else None
  out = {"devices": jax.device_count()}
  learner = supervised_learner(mesh)
  ckpt = cb.Checkpoint(os.path.join(directory, "supervised"), every=20, verbose=0,
                       async_save=False)
  history = learner.fit(sine(128), steps=steps, batch_size=32, verbose=0, callbacks=[ckpt])
  out["supervised"] = {"restored": ckpt.restored_step, "loss": history.loss,
                       "steps": history.steps, "step": learner.step}
  learner, history, ckpt = pinn_checkpointed(os.path.join(directory, "pinn"), steps, mesh)
  out["pinn"] = {"restored": ckpt.restored_step, "loss": history.loss, "steps": history.steps,
                 "rard_points": history.rard_points, "step": learner.step,
                 "rows": [int(learner.state.data[t]["mask"].shape[0]) for t in ("pde", "bc")]
                 if mesh is not None else None}
  print("RESULT " + json.dumps(out))


def host_fit(mesh=None):
  """Minibatches from host memory (of.HostDataset), prefetched per chunk."""
  return supervised_learner(mesh).fit(of.HostDataset(sine(128)), steps=40, batch_size=32,
                                      verbose=0, steps_per_execution=10)


def multihost(port, process_id, directory):
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=process_id,
                             initialization_timeout=60)
  learner = supervised_learner(of.data_parallel_mesh())
  # Every process passes the same global data; each transfers its own rows.
  history = learner.fit(sine(128), steps=40, batch_size=32, verbose=0, steps_per_execution=10,
                        validation_data=sine(30, 1),
                        callbacks=[cb.Checkpoint(os.path.join(directory, "ckpt"), every=20,
                                                 verbose=0),
                                   cb.TensorBoard(os.path.join(directory, "tb"), every=10)])
  print("RESULT " + json.dumps({
      "process": jax.process_index(), "processes": jax.process_count(),
      "devices": jax.device_count(), "local_devices": jax.local_device_count(),
      "loss": history.loss, "val_loss": history.val_loss,
      "data_spec": str(learner.state.data[0].sharding.spec),
      "traces": learner.trace_counts,
      # A PINN whose RARD buffer is split over both processes, and host data.
      "pinn": pinn_checkpointed(None, 40, of.data_parallel_mesh())[1].loss,
      "host": host_fit(of.data_parallel_mesh()).loss}), flush=True)
  jax.distributed.shutdown()


if __name__ == "__main__":
  command = sys.argv[1]
  if command == "compare":
    compare()
  elif command == "checkpoint":
    checkpoint(sys.argv[2], int(sys.argv[3]))
  elif command == "multihost":
    multihost(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
  else:
    raise SystemExit(f"unknown command {command!r}")
