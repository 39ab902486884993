"""float64 end to end (issue 11 item 3): Supervised fits, the switch to
L-BFGS, Checkpoint resume, evaluate and predict with ``jax_enable_x64`` and
float64 weights. The flag is process-global, so the run is a subprocess."""
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
from flax import nnx

import opifex_fit as of
from opifex_fit.engine.state import float_dtype

WORKER = os.path.join(os.path.dirname(__file__), "x64_worker.py")


def test_float64_fit_switch_resume_evaluate_in_a_subprocess(tmp_path):
  # The worker imports the very package under test (a checkout, not an install).
  root = os.path.dirname(os.path.dirname(os.path.abspath(of.__file__)))
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
  proc = subprocess.run([sys.executable, WORKER, str(tmp_path)], capture_output=True,
                        text=True, timeout=300, check=False, env=env)
  assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]
  assert not jax.config.jax_enable_x64  # nothing leaked into this process


def test_training_scalars_are_float32_at_least():
  model = nnx.Linear(1, 1, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
  learner = of.Learner(model, of.Supervised())
  assert learner.state.lr_scale.dtype == jnp.float32
  assert learner.state.loss_weights["data"].dtype == jnp.float32
  assert float_dtype({}) == jnp.float32
  history = learner.fit((jnp.ones((8, 1)), jnp.zeros((8, 1))),
                        steps=3, verbose=0)
  assert learner.trace_counts["chunk"] == 1 and len(history.loss) == 1
