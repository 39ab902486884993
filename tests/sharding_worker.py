"""Runs in a subprocess with faked CPU devices (``test_sharding.py`` starts it).

  python sharding_worker.py compare                  # 4 devices: mesh vs one device, JSON out
  python sharding_worker.py checkpoint DIR STEPS     # fit to STEPS with a Checkpoint in DIR
  python sharding_worker.py multihost PORT ID DIR    # one of two jax.distributed processes

The device count comes from ``XLA_FLAGS`` (set by the test); with more than
one device the fits use ``of.data_parallel_mesh()``.
"""

import json
import os
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


def compare():
  """Every fit twice, on the 4-device mesh and on one device; the histories."""
  mesh = of.data_parallel_mesh()
  out = {"devices": jax.device_count()}

  def both(name, make, data, **kw):
    runs = []
    for m in (mesh, None):
      learner = make(m)
      history = learner.fit(data, verbose=0, steps_per_execution=10, **kw)
      runs.append({"loss": history.loss, "val": history["val_loss"] if "val_loss" in history
                   else None, "eval": learner.evaluate(data)["loss"],
                   "predict": np.asarray(learner.predict(np.linspace(0, 1, 7)[:, None]))
                   .ravel().tolist(), "traces": learner.trace_counts,
                   "data": jax.tree.map(lambda a: [list(a.shape), str(a.sharding.spec)],
                                        learner.state.data) if m is not None else None})
    out[name] = runs

  both("full_divisible", supervised_learner, sine(128), steps=40)
  both("full_uneven", supervised_learner, sine(130), steps=40)  # replicated leaves
  both("minibatch", supervised_learner, sine(130), epochs=6, batch_size=26,
       validation_data=sine(30, 1))
  problem = poisson_problem()
  # 62 interior and 6 boundary points: padded to 64 and 8 with masks on 4 devices.
  both("pinn_uneven", pinn_learner, problem.sample(n_interior=62, n_boundary=6), steps=40,
       validation_data=problem.sample(n_interior=31, n_boundary=3, seed=1))
  both("pinn_rad", pinn_learner, problem.sample(n_interior=62, n_boundary=6), steps=40,
       callbacks=[cb.RAD(every=10, pool_size=200)])

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
  mesh = of.data_parallel_mesh() if jax.device_count() > 1 else None
  learner = supervised_learner(mesh)
  ckpt = cb.Checkpoint(directory, every=20, verbose=0, async_save=False)
  history = learner.fit(sine(128), steps=steps, batch_size=32, verbose=0, callbacks=[ckpt])
  print("RESULT " + json.dumps({"devices": jax.device_count(), "restored": ckpt.restored_step,
                                "loss": history.loss, "steps": history.steps,
                                "step": learner.step}))


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
      "traces": learner.trace_counts}), flush=True)
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
