import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit.models import FNO, SpectralConv


@pytest.mark.parametrize("modes,grid", [((6,), (16,)), ((4, 3), (12, 10)), ((2, 2, 2), (6, 5, 4))])
def test_shapes_channels_last_and_real_params(modes, grid):
  model = FNO(2, 3, modes, width=8, n_layers=2, rngs=nnx.Rngs(0))
  assert model(jnp.ones((2, *grid, 2))).shape == (2, *grid, 3)
  params = nnx.state(model, nnx.Param)
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))
  w = model.spectral[0]
  expected = tuple(2 * m for m in modes[:-1]) + (modes[-1], 8, 8)
  assert w.w_real.shape == w.w_imag.shape == expected


def _numpy_spectral(x, w, modes):
  """Reference: the paper's corner blocks, one at a time, with numpy FFTs (2-D)."""
  (m1, m2), n1 = modes, x.shape[1]
  xf = np.fft.rfft2(x, axes=(1, 2))
  out = np.zeros(xf.shape[:-1] + (w.shape[-1],), complex)
  for rows_out, rows_w in ((slice(0, m1), slice(0, m1)), (slice(n1 - m1, n1), slice(m1, 2 * m1))):
    out[:, rows_out, :m2] = np.einsum("bxyi,xyio->bxyo", xf[:, rows_out, :m2], w[rows_w])
  return np.fft.irfft2(out, s=x.shape[1:3], axes=(1, 2))


def test_spectral_conv_matches_reference_corner_blocks():
  conv = SpectralConv(3, 2, (3, 4), rngs=nnx.Rngs(1))
  x = np.random.default_rng(0).standard_normal((2, 10, 9, 3)).astype(np.float32)
  w = np.asarray(conv.w_real[...]) + 1j * np.asarray(conv.w_imag[...])
  np.testing.assert_allclose(conv(jnp.asarray(x)), _numpy_spectral(x, w, (3, 4)), atol=1e-5)


def test_identity_weights_are_an_exact_low_pass_filter():
  conv = SpectralConv(1, 1, (4,), rngs=nnx.Rngs(0))
  conv.w_real[...] = jnp.ones_like(conv.w_real[...])
  conv.w_imag[...] = jnp.zeros_like(conv.w_imag[...])
  x = np.arange(64) / 64
  low, high = np.sin(2 * np.pi * 3 * x) + 0.5, np.cos(2 * np.pi * 9 * x)
  out = conv(jnp.asarray(low + high, jnp.float32)[None, :, None])[0, :, 0]
  np.testing.assert_allclose(out, low, atol=1e-5)


@pytest.mark.parametrize("modes", [(5,), (4, 3)])
def test_one_layer_commutes_with_subsampling_exactly(modes):
  # No grid channels and no activation between spectral layers: for a
  # band-limited input the output at 2n, subsampled, equals the output at n.
  model = FNO(1, 1, modes, width=6, n_layers=1, grid=None, rngs=nnx.Rngs(0))
  n = 32
  axes = np.meshgrid(*[np.arange(2 * n) / (2 * n)] * len(modes), indexing="ij")
  u = sum(np.sin(2 * np.pi * (k + 1) * a + k) for k, a in enumerate(axes))
  fine = jnp.asarray(u, jnp.float32)[None, ..., None]
  coarse = fine[(slice(None),) + (slice(None, None, 2),) * len(modes)]
  sub = model(fine)[(slice(None),) + (slice(None, None, 2),) * len(modes)]
  np.testing.assert_allclose(sub, model(coarse), atol=1e-5)


def test_deep_model_is_nearly_resolution_invariant():
  model = FNO(1, 1, (8,), width=16, grid="periodic", rngs=nnx.Rngs(0))
  x = np.arange(256) / 256
  fine = jnp.asarray(np.sin(2 * np.pi * x) + 0.3 * np.cos(6 * np.pi * x), jnp.float32)[None, :, None]
  a, b = model(fine)[:, ::2], model(fine[:, ::2])
  assert float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b)) < 2e-2


def test_padding_keeps_the_grid_and_closed_coordinates():
  model = FNO(1, 2, (3, 3), width=4, n_layers=1, padding=3, rngs=nnx.Rngs(0))
  assert model(jnp.ones((1, 9, 8, 1))).shape == (1, 9, 8, 2)
  coords = model._coordinates((3, 2), jnp.float32)
  np.testing.assert_allclose(coords[..., 0], [[0, 0], [0.5, 0.5], [1, 1]])
  np.testing.assert_allclose(coords[..., 1], [[0, 1]] * 3)


def test_bad_arguments_name_the_value():
  rngs = nnx.Rngs(0)
  with pytest.raises(ValueError, match="modes"):
    FNO(1, 1, 8, width=4, rngs=rngs)
  with pytest.raises(ValueError, match="modes"):
    FNO(1, 1, (1, 1, 1, 1), width=4, rngs=rngs)
  with pytest.raises(ValueError, match="width"):
    FNO(1, 1, (4,), width=0, rngs=rngs)
  with pytest.raises(ValueError, match="grid"):
    FNO(1, 1, (4,), width=4, grid="open", rngs=rngs)
  model = FNO(1, 1, (8,), width=4, rngs=rngs)
  with pytest.raises(ValueError, match=r"grid size 12 .* modes\[0\]=8"):
    model(jnp.ones((1, 12, 1)))
  with pytest.raises(ValueError, match=r"\(batch, n, 1\)"):
    model(jnp.ones((1, 12, 12, 1)))


def test_trains_through_the_learner_with_relative_l2():
  x = np.arange(32) / 32
  rng = np.random.default_rng(0)
  u0 = np.stack([np.sin(2 * np.pi * x + p) for p in rng.uniform(0, 6, 16)])[..., None]
  target = np.roll(u0, 3, axis=1) ** 2                   # a shift and a square
  model = FNO(1, 1, (6,), width=8, n_layers=2, grid="periodic", rngs=nnx.Rngs(0))
  learner = of.Learner(model, of.Supervised(loss="relative_l2"), optax.adam(1e-2))
  data = (u0.astype(np.float32), target.astype(np.float32))
  before = learner.evaluate(data)["loss"]
  learner.fit(data, steps=60, steps_per_execution=10, verbose=0)
  assert learner.evaluate(data)["loss"] < 0.5 * before
  assert learner.trace_counts["chunk"] == 1
