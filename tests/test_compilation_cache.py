"""The persistent compilation cache: a rerun reads the chunk from disk."""

import os
import subprocess
import sys

import pytest

import opifex_fit as of

SCRIPT = """
import numpy as np, optax
from flax import nnx
import opifex_fit as of
x = np.linspace(-1, 1, 64)[:, None]
learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"),
                     optax.adam(1e-2))
learner.fit((x, np.sin(x)), steps=20, verbose=0)
print("loss", learner.logs["loss"])
"""


def run(cache_dir):
  env = dict(os.environ, OPIFEX_FIT_CACHE_DIR=str(cache_dir), JAX_LOG_COMPILES="1",
             PYTHONPATH=os.pathsep.join(sys.path))
  out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                       timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  return out


def test_second_run_reads_the_chunk_from_the_cache(tmp_path):
  first = run(tmp_path)
  assert "cache hit for 'jit_run_chunk'" not in first.stderr
  assert any(tmp_path.iterdir())
  second = run(tmp_path)
  assert "Persistent compilation cache hit for 'jit_run_chunk'" in second.stderr
  assert first.stdout == second.stdout  # same numbers from the cached program


def test_enable_compilation_cache_checks_its_argument():
  with pytest.raises(TypeError, match="directory must be a path; got 3"):
    of.enable_compilation_cache(3)
