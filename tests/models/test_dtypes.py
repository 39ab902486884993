import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from opifex_fit.models import (
  FNO,
  MLP,
  DeepONet,
  FourierFeatures,
  ModifiedMLP,
  PirateNet,
)

# x64 is a process-wide flag: the float64 checks run in a fresh interpreter.
_X64_SCRIPT = textwrap.dedent("""
  import jax
  jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp
  from flax import nnx
  from opifex_fit.models import (FNO, MLP, DeepONet, FourierFeatures, ModifiedMLP,
                                 PeriodicEmbedding, PirateNet)

  f64 = jnp.float64
  def emb():
    return [PeriodicEmbedding(2, axes=(1,), period=2.0, trainable=True, param_dtype=f64),
            FourierFeatures(3, 8, param_dtype=f64, rngs=nnx.Rngs(1))]
  x = jnp.linspace(-1, 1, 10, dtype=f64).reshape(5, 2)
  cases = {
      "MLP": (MLP(2, [8, 1], param_dtype=f64, rngs=nnx.Rngs(0)), x),
      "MLP-rwf-emb": (MLP(2, [8, 1], weight_factorization=(1.0, 0.1), embedding=emb(),
                          param_dtype=f64, rngs=nnx.Rngs(0)), x),
      "ModifiedMLP": (ModifiedMLP(2, [8, 8, 1], embedding=emb(), param_dtype=f64,
                                  rngs=nnx.Rngs(0)), x),
      "PirateNet": (PirateNet(2, 8, 1, n_blocks=2, embedding=emb(),
                              weight_factorization=(1.0, 0.1), param_dtype=f64,
                              rngs=nnx.Rngs(0)), x),
      "FNO": (FNO(1, 1, (4,), 8, n_layers=2, param_dtype=f64, rngs=nnx.Rngs(0)),
              jnp.ones((2, 16, 1), f64)),
      "DeepONet": (DeepONet([5, 8], [2, 8], param_dtype=f64, rngs=nnx.Rngs(0)),
                   (jnp.ones((3, 5), f64), x)),
  }
  for name, (model, inputs) in cases.items():
    dtypes = {p.dtype for p in jax.tree.leaves(nnx.state(model, nnx.Param))}
    assert dtypes == {jnp.dtype(f64)}, (name, dtypes)
    assert model(inputs).dtype == f64, name
  # The default stays float32 with x64 on; dtype=float32 computes in float32.
  plain = MLP(2, [8, 1], rngs=nnx.Rngs(0))
  assert {p.dtype for p in jax.tree.leaves(nnx.state(plain, nnx.Param))} == {jnp.dtype("float32")}
  low = MLP(2, [8, 1], param_dtype=f64, dtype=jnp.float32, rngs=nnx.Rngs(0))
  assert low(x).dtype == jnp.float32
  # Least-squares init in float64 fits to machine precision.
  net = cases["PirateNet"][0]
  rms = net.init_last_layer(x, jnp.sin(x[:, 0]))
  assert float(rms) < 1e-12, float(rms)
  print("OK")
""")


def test_every_model_takes_float64_params_under_x64():
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-c", _X64_SCRIPT], capture_output=True, text=True,
                       env=env, timeout=300, check=False)
  assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]


@pytest.mark.skipif(jax.config.jax_enable_x64, reason="needs x64 off in this process")
@pytest.mark.parametrize("build", [
    lambda d: MLP(2, [4, 1], param_dtype=d, rngs=nnx.Rngs(0)),
    lambda d: ModifiedMLP(2, [4, 1], param_dtype=d, rngs=nnx.Rngs(0)),
    lambda d: PirateNet(2, 4, 1, param_dtype=d, rngs=nnx.Rngs(0)),
    lambda d: FourierFeatures(2, 4, param_dtype=d, rngs=nnx.Rngs(0)),
    lambda d: FNO(1, 1, (4,), 8, param_dtype=d, rngs=nnx.Rngs(0)),
    lambda d: DeepONet([3, 4], [1, 4], param_dtype=d, rngs=nnx.Rngs(0))])
def test_float64_without_x64_is_refused_and_float32_is_the_default(build):
  with pytest.raises(ValueError, match="param_dtype=float64 needs 64-bit JAX"):
    build(jnp.float64)
  with pytest.raises(TypeError, match="param_dtype must be a floating dtype"):
    build(jnp.int32)
  model = build(jnp.float32)
  assert {p.dtype for p in jax.tree.leaves(nnx.state(model, nnx.Param))} == {jnp.dtype("float32")}
