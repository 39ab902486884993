"""Function-preserving growth: the grown model computes the old function (to 1e-6)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opifex_fit.models import FNO, MLP, FourierFeatures
from opifex_fit.models.growth import GrownMLP, grow_fno, grow_mlp


def random_inputs(shape, seed=0):
  return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


@pytest.mark.parametrize("factorization", [None, (1.0, 0.1)])
def test_wider_mlp_is_the_same_function_with_the_old_weights_copied(factorization):
  small = MLP(3, [8, 6, 2], activation="tanh", weight_factorization=factorization,
              rngs=nnx.Rngs(0))
  big = grow_mlp(small, width_factor=2, rngs=nnx.Rngs(1))
  assert type(big) is MLP and [layer.out_features for layer in big.layers] == [16, 12, 2]
  x = random_inputs((256, 3))
  np.testing.assert_allclose(big(x), small(x), atol=1e-6, rtol=0)
  attr = "kernel" if factorization is None else "v"
  for old, new in zip(small.layers, big.layers):
    i, o = old.in_features, old.out_features
    np.testing.assert_array_equal(getattr(new, attr)[...][:i, :o], getattr(old, attr)[...])
    np.testing.assert_array_equal(new.bias[...][:o], old.bias[...])
    assert not np.any(getattr(new, attr)[...][i:, :o])   # new units feed no old unit
    if o < new.out_features:                              # new units get random incoming weights
      assert np.all(np.abs(getattr(new, attr)[...][:i, o:]).sum(0) > 0)
  # ... and the output does not move, but the new units can learn: nonzero gradient.
  grads = nnx.grad(lambda m: jnp.mean((m(x) - 1.0) ** 2))(big)
  assert np.any(getattr(grads.layers[2], attr)[...][6:, :])   # rows of the new hidden units


def test_deeper_mlp_inserts_residual_blocks_that_start_as_the_identity():
  small = MLP(2, [10, 10, 1], activation="tanh", rngs=nnx.Rngs(0))
  big = grow_mlp(small, width_factor=1.5, extra_layers=2, rngs=nnx.Rngs(1))
  assert isinstance(big, GrownMLP) and isinstance(big, MLP)
  assert [layer.out_features for layer in big.layers] == [15, 15, 15, 15, 1]
  assert big.residual == (False, False, True, True)
  x = random_inputs((256, 2))
  np.testing.assert_allclose(big(x), small(x), atol=1e-6, rtol=0)
  grads = nnx.grad(lambda m: jnp.mean((m(x) - 1.0) ** 2))(big)
  assert all(abs(float(grads.gates[i][...])) > 0 for i in range(2))   # the gates learn from step 1
  # A grown model grows again, keeping its blocks and its function.
  bigger = grow_mlp(big, width_factor=2, extra_layers=1, rngs=nnx.Rngs(2))
  assert bigger.residual == (False, False, True, True, True)
  assert [layer.out_features for layer in bigger.layers] == [30, 30, 30, 30, 30, 1]
  np.testing.assert_allclose(bigger(x), small(x), atol=1e-6, rtol=0)


def test_mlp_with_an_embedding_keeps_it():
  emb = FourierFeatures(2, 16, rngs=nnx.Rngs(3))
  small = MLP(2, [8, 1], embedding=emb, rngs=nnx.Rngs(0))
  big = grow_mlp(small, 2, 1, rngs=nnx.Rngs(1))
  x = random_inputs((64, 2))
  np.testing.assert_allclose(big(x), small(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize("old,new,grid", [((4,), (8,), (32,)), ((3, 4), (6, 5), (16, 16))])
def test_fno_with_more_modes_is_the_same_function(old, new, grid):
  small = FNO(2, 1, modes=old, width=8, n_layers=2, rngs=nnx.Rngs(0))
  big = grow_fno(small, new)
  assert big.modes == new and all(conv.modes == new for conv in big.spectral)
  u = random_inputs((3, *grid, 2))
  np.testing.assert_allclose(big(u), small(u), atol=1e-6, rtol=0)
  # The old modes' weights sit at their frequencies, the new ones are zero.
  w_old, w_new = small.spectral[0].w_real[...], big.spectral[0].w_real[...]
  if len(old) == 1:
    np.testing.assert_array_equal(w_new[:old[0]], w_old)
    assert not np.any(w_new[old[0]:])
  else:
    m, M = old[0], new[0]
    np.testing.assert_array_equal(w_new[:m, :old[1]], w_old[:m])          # frequencies 0..m-1
    np.testing.assert_array_equal(w_new[2 * M - m:, :old[1]], w_old[m:])  # frequencies -m..-1
    assert not np.any(w_new[m:2 * M - m]) and not np.any(w_new[:, old[1]:])
  # The small model is left as it was.
  assert small.modes == old and small.spectral[0].w_real.shape[0] == (old[0] if len(old) == 1
                                                                     else 2 * old[0])


def test_bad_arguments_are_refused():
  mlp = MLP(1, [4, 1], rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="width_factor must be a number >= 1; got 0.5"):
    grow_mlp(mlp, 0.5, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="extra_layers must be a non-negative int; got -1"):
    grow_mlp(mlp, 2, -1, rngs=nnx.Rngs(0))
  with pytest.raises(TypeError, match="must be an opifex_fit.models.MLP"):
    grow_mlp(nnx.Linear(1, 1, rngs=nnx.Rngs(0)), 2, rngs=nnx.Rngs(0))
  fno = FNO(1, 1, modes=(4,), width=4, n_layers=1, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"modes must be 1 ints, each at least the model's modes \(4,\)"):
    grow_fno(fno, (2,))
