"""Data parallelism: a mesh gives the losses of one device (RAD/RARD pools
split over it too); checkpoints move between device counts, padded PDE terms
included; two jax.distributed processes train together.

The multi-device runs happen in subprocesses (``sharding_worker.py``) with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` and ``JAX_PLATFORMS=cpu``.
"""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

import opifex_fit as of
import sharding_worker
from opifex_fit.parallel.sharding import DataParallel
from support import make_learner, sine_data

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sharding_worker.py")
RTOL = 2e-5  # summation order differs between 1 and 4 devices


def _env(devices):
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  env.pop("CUDA_VISIBLE_DEVICES", None)
  return env


def _result(stdout):
  lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
  assert lines, f"worker printed no result:\n{stdout[-3000:]}"
  return json.loads(lines[-1][len("RESULT "):])


def _worker(devices, *args, timeout=240):
  proc = subprocess.run([sys.executable, WORKER, *map(str, args)], env=_env(devices),
                        capture_output=True, text=True, timeout=timeout)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
  return _result(proc.stdout)


@pytest.fixture(scope="module")
def compared():
  return _worker(4, "compare")


def test_four_devices_match_one_device(compared):
  assert compared["devices"] == 4
  for case in ("full_divisible", "full_uneven", "minibatch", "pinn_uneven", "pinn_rad",
               "pinn_rard", "pinn_gradnorm"):
    mesh, single = compared[case]
    np.testing.assert_allclose(mesh["loss"], single["loss"], rtol=RTOL, err_msg=case)
    assert mesh["logs"].keys() == single["logs"].keys(), case
    for name in mesh["logs"]:
      np.testing.assert_allclose(mesh["logs"][name], single["logs"][name], rtol=RTOL,
                                 err_msg=f"{case}: {name}")
    np.testing.assert_allclose(mesh["eval"], single["eval"], rtol=RTOL, err_msg=case)
    np.testing.assert_allclose(mesh["predict"], single["predict"], rtol=RTOL, atol=1e-6,
                               err_msg=case)
    if single["val"] is not None:
      np.testing.assert_allclose(mesh["val"], single["val"], rtol=RTOL, err_msg=case)
    assert mesh["traces"]["chunk"] == 1, case
    assert all(count == 1 for name, count in mesh["traces"].items()
               if name.startswith(("rad", "gradnorm"))), (case, mesh["traces"])


def test_divisible_data_is_split_and_uneven_supervised_data_replicated(compared):
  assert compared["full_divisible"][0]["data"] == [[[128, 1], "P('data',)"]] * 2
  assert compared["full_uneven"][0]["data"] == [[[130, 1], "P()"]] * 2


def test_uneven_pde_points_are_padded_with_masks_not_dropped(compared):
  # 62 interior and 6 boundary points on 4 devices: 64 and 8 slots, masked.
  data = compared["pinn_uneven"][0]["data"]
  assert data["pde"] == {"points": [[64, 1], "P('data',)"], "mask": [[64], "P('data',)"]}
  assert data["bc"] == {"points": [[8, 1], "P('data',)"], "mask": [[8], "P('data',)"]}
  # ...and RAD resampling keeps the padding and the exact losses (checked above).
  assert compared["pinn_rad"][0]["data"] == data


def test_rard_never_fills_the_mesh_padding_of_its_buffer(compared):
  # capacity=50 is padded to 52 rows on 4 devices; 30 + 8 + 8 + 8 + 8 points asked for.
  mesh, single = compared["pinn_rard"]
  assert mesh["data"]["pde"]["mask"] == [[52], "P('data',)"]
  assert mesh["logs"]["rard_points"] == single["logs"]["rard_points"] == [38, 46, 50, 50]
  assert compared["rard_active"] == 50


@pytest.mark.parametrize("name", ["rad_split", "rard_split"])
def test_rad_and_rard_evaluate_the_pool_split_over_the_devices(compared, name):
  # Chunks of 40 candidates: 10 rows per device in the compiled program, the
  # residuals gathered for the draw, the results replicated.
  split = compared[name]
  assert "f32[10,1]" in split["shapes"], split
  assert "all-gather" in split["collectives"], split
  assert set(split["out_specs"]) == {"P()"}, split


def test_callback_writes_keep_shardings_and_compile_once(compared):
  m = compared["mutate"]
  assert m["traces"]["chunk"] == 1
  assert m["data_specs"] == ["P('data',)", "P('data',)"]
  assert m["weight_spec"] == "P()"


# Four subprocesses in all: the default run moves 4 -> 1 only (two of them).
@pytest.mark.parametrize("first, second", [(4, 1), pytest.param(1, 4, marks=pytest.mark.slow)])
def test_checkpoint_moves_between_four_and_one_device(tmp_path, first, second):
  # One device, no checkpoint, the same chunks (of 20 steps, the Checkpoint's cadence).
  reference = sharding_worker.supervised_learner().fit(
      sharding_worker.sine(128), steps=80, batch_size=32, verbose=0, steps_per_execution=20)
  _, pinn_reference, _ = sharding_worker.pinn_checkpointed(None, 80)
  assert pinn_reference.rard_points == [51, 52, 53, 54]
  directory = tmp_path / f"from{first}to{second}"
  half = _worker(first, "checkpoint", directory, 40)
  resumed = _worker(second, "checkpoint", directory, 80)
  assert half["devices"] == first and resumed["devices"] == second
  for run, ref in (("supervised", reference), ("pinn", pinn_reference)):
    assert half[run]["step"] == 40 and resumed[run]["restored"] == 40, run
    assert resumed[run]["steps"] == ref.steps == [20, 40, 60, 80], run
    np.testing.assert_allclose(resumed[run]["loss"], ref.loss, rtol=RTOL, err_msg=run)
  assert resumed["pinn"]["rard_points"] == pinn_reference.rard_points
  # On 4 devices both PINN terms are padded (RARD's 54 rows to 56, 6 boundary
  # points to 8); the checkpoint holds them as one device does.
  assert (half if first == 4 else resumed)["pinn"]["rows"] == [56, 8]
  with open(directory / "pinn" / "40" / "metadata" / "metadata") as f:
    stored = json.load(f)["structure"]["data"]
  assert stored == {"pde/points": "float32[54,1]", "pde/mask": "bool[54]",
                    "bc": "float32[6,1]"}, stored


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def test_two_processes_under_jax_distributed(tmp_path):
  if "jax_cpu_collectives_implementation" not in jax.config.values:
    pytest.skip("this jaxlib has no CPU collectives (gloo): no multi-process CPU runs")
  port = _free_port()
  procs = [subprocess.Popen([sys.executable, WORKER, "multihost", str(port), str(i),
                             str(tmp_path)], env=_env(2), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True) for i in range(2)]
  outputs = []
  try:
    for p in procs:
      outputs.append(p.communicate(timeout=120)[0])
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-4000:]
  results = [_result(out) for out in outputs]
  assert [r["process"] for r in results] == [0, 1]
  assert all(r["processes"] == 2 and r["devices"] == 4 and r["local_devices"] == 2
             for r in results)
  assert results[0]["data_spec"] == "P('data',)" and results[0]["traces"]["chunk"] == 1
  # Both processes see the same global losses, equal to one device's with the
  # same chunk boundaries (epoch ends: validation per epoch; TensorBoard's 10).
  reference = sharding_worker.supervised_learner().fit(
      sharding_worker.sine(128), steps=40, batch_size=32, verbose=0, steps_per_execution=10,
      validation_data=sharding_worker.sine(30, 1),
      callbacks=[of.callbacks.LambdaCallback(on_step_end=lambda learner: None, every=10)])
  pinn = sharding_worker.pinn_checkpointed(None, 40)[1]
  host = sharding_worker.host_fit()
  for r in results:
    np.testing.assert_allclose(r["loss"], reference.loss, rtol=RTOL)
    np.testing.assert_allclose(r["pinn"], pinn.loss, rtol=RTOL)
    np.testing.assert_allclose(r["host"], host.loss, rtol=RTOL)
  # Orbax wrote one checkpoint per save, coordinated across both processes;
  # only process 0 wrote TensorBoard events.
  assert sorted(os.listdir(tmp_path / "ckpt")) == ["20", "40"]
  assert len([f for f in os.listdir(tmp_path / "tb") if "tfevents" in f]) == 1


# -- in-process: one device ------------------------------------------------------
def test_one_device_mesh_matches_no_mesh():
  x, y = sine_data(64)
  plain = make_learner().fit((x, y), steps=30, verbose=0)
  learner = make_learner()
  learner = of.Learner(learner.model, learner.problem, learner.optimizer,
                       mesh=of.data_parallel_mesh(jax.devices()[:1]))
  meshed = learner.fit((x, y), steps=30, verbose=0)
  np.testing.assert_allclose(meshed.loss, plain.loss, rtol=1e-6)
  assert learner.mesh.axis_names == ("data",)
  assert learner.state.data[0].sharding.spec == jax.sharding.PartitionSpec("data")


def test_mesh_arguments_are_checked():
  learner = make_learner()
  with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh"):
    of.Learner(learner.model, learner.problem, mesh="gpu")
  with pytest.raises(ValueError, match=r"data_axis='batch' is not an axis of the mesh; its axes"
                                       r" are \('data',\)"):
    of.Learner(learner.model, learner.problem, mesh=of.data_parallel_mesh(), data_axis="batch")
  with pytest.raises(ValueError, match="axis_name must be a non-empty string"):
    of.data_parallel_mesh(axis_name="")


def test_explicit_axes_of_jax_make_mesh_are_used_as_auto():
  mesh = jax.make_mesh((1,), ("batch",))
  placement = DataParallel(mesh, "batch")
  assert placement.size == 1
  assert placement.mesh.axis_types == (jax.sharding.AxisType.Auto,)
