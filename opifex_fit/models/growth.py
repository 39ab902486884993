"""Function-preserving growth of models (for coarse-to-fine training, ``cb.Multilevel``).

Each function returns a new, larger model whose output equals the old one's
(to float rounding: a wider matmul may sum its terms in another order) and
whose old parameters are copied unchanged.

* ``grow_mlp`` widens every hidden layer by ``width_factor`` and inserts
  ``extra_layers`` new hidden layers before the output layer. A new hidden
  unit gets fresh (Glorot-normal) incoming weights and zero weights *out of*
  it into every old unit and into the output: the old units never see it, so
  the function is unchanged, and the gradient of the zero weights is not
  zero, so it learns. A new layer is a ReZero residual block
  ``x + gate * act(W x + b)`` (Bachlechner et al. 2020) with ``W`` fresh and
  the scalar ``gate = 0``: exactly the identity for every activation (an
  "identity-initialised" plain layer is not the identity under tanh), and
  the gate's gradient is ``act(W x + b)``, not zero. A model with residual
  blocks is a ``GrownMLP``, a subclass of ``MLP``; without them it stays an
  ``MLP``.
* ``grow_fno`` raises the Fourier modes of every ``SpectralConv``: the old
  modes' weights are copied into their frequencies, the new modes' weights
  are zero, so the new modes contribute exactly nothing at first; every other
  layer is copied.

Example:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> from opifex_fit.models import MLP
  >>> from opifex_fit.models.growth import grow_mlp
  >>> small = MLP(1, [8, 8, 1], rngs=nnx.Rngs(0))
  >>> big = grow_mlp(small, width_factor=2, extra_layers=1, rngs=nnx.Rngs(1))
  >>> [layer.out_features for layer in big.layers]
  [16, 16, 16, 1]
  >>> x = jnp.linspace(-1, 1, 5)[:, None]
  >>> bool(jnp.allclose(big(x), small(x), atol=1e-6))
  True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models.dense import FactorizedDense, check_weight_factorization
from opifex_fit.models.fno import FNO, SpectralConv
from opifex_fit.models.mlp import MLP

__all__ = ["GrownMLP", "grow_fno", "grow_mlp"]


class GrownMLP(MLP):
  """An ``MLP`` whose hidden layers marked in ``residual`` are ReZero blocks.

  A residual hidden layer computes ``x + gate * act(layer(x))`` (square, one
  scalar ``gate``); the others ``act(layer(x))`` as in ``MLP``. Made by
  ``grow_mlp(..., extra_layers=n)``; the arguments are those of ``MLP`` plus
  ``residual``, one bool per hidden layer (``len(features) - 1``).
  """

  def __init__(self, in_features, features, activation="tanh", *, residual: Sequence[bool],
               gate_init: float = 0.0, rngs: nnx.Rngs, **kw):
    super().__init__(in_features, features, activation, rngs=rngs, **kw)
    residual = tuple(bool(r) for r in residual)
    if len(residual) != len(self.layers) - 1:
      raise ValueError(f"residual must have one bool per hidden layer ({len(self.layers) - 1});"
                       f" got {residual!r}")
    for i, r in enumerate(residual):
      if r and self.layers[i].in_features != self.layers[i].out_features:
        raise ValueError(f"residual[{i}]: a residual layer must be square; layer {i} maps "
                         f"{self.layers[i].in_features} -> {self.layers[i].out_features}")
    self.residual = residual
    dtype = _param_dtype(self.layers[0])
    self.gates = nnx.List([nnx.Param(jnp.full((), gate_init, dtype)) for r in residual if r])

  def __call__(self, x):
    if self.embedding is not None:
      x = self.embedding(x)
    gates = iter(self.gates)
    for layer, residual in zip(self.layers[:-1], self.residual):
      h = self.activation(layer(x))
      x = x + next(gates)[...] * h if residual else h
    return self.layers[-1](x)


def _param_dtype(layer):
  return (layer.v if isinstance(layer, FactorizedDense) else layer.kernel)[...].dtype


def _check_mlp(model) -> None:
  if not isinstance(model, MLP):
    raise TypeError(f"grow_mlp: model must be an opifex_fit.models.MLP; got {type(model).__name__}")
  for i, layer in enumerate(model.layers):
    if not isinstance(layer, (nnx.Linear, FactorizedDense)) or layer.bias is None:
      raise TypeError(f"grow_mlp: layer {i} is a {type(layer).__name__} (with bias "
                      f"{getattr(layer, 'bias', None) is not None}); only MLPs of nnx.Linear or "
                      "FactorizedDense layers with biases (as MLP builds them) can grow")


def _copy_dense(new, old) -> None:
  """Old block copied into the top-left corner; zero from new inputs to old outputs."""
  i, o = old.in_features, old.out_features
  if isinstance(old, FactorizedDense):
    new.g[...] = new.g[...].at[:o].set(old.g[...])
    new.v[...] = new.v[...].at[:i, :o].set(old.v[...]).at[i:, :o].set(0)
  else:
    new.kernel[...] = new.kernel[...].at[:i, :o].set(old.kernel[...]).at[i:, :o].set(0)
  new.bias[...] = new.bias[...].at[:o].set(old.bias[...])


def grow_mlp(model: MLP, width_factor: float = 2.0, extra_layers: int = 0, *, rngs: nnx.Rngs,
             weight_factorization=(1.0, 0.1)) -> MLP:
  """A wider (and deeper) copy of ``model`` computing the same function.

  Args:
    model: an ``MLP`` (or ``GrownMLP``) of plain or factorized dense layers.
    width_factor: every hidden width ``w`` becomes ``round(w * width_factor)``
      (>= 1; the input and output sizes stay).
    extra_layers: new residual hidden layers inserted before the output layer,
      at the last hidden width (a model without hidden layers: at the input
      width after the embedding).
    rngs: ``nnx.Rngs`` for the new units' incoming weights.
    weight_factorization: ``(mu, sigma)`` of the new units' scales when the
      model is factorized (``MLP(..., weight_factorization=...)``; the old
      units keep theirs); ignored for plain layers.

  Returns a ``GrownMLP`` if the result has residual layers, else an ``MLP``;
  its embedding is a copy of the old one (same variables' values).
  """
  _check_mlp(model)
  if isinstance(width_factor, bool) or not isinstance(width_factor, (int, float)) or \
      not math.isfinite(width_factor) or width_factor < 1:
    raise ValueError(f"width_factor must be a number >= 1; got {width_factor!r}")
  if isinstance(extra_layers, bool) or not isinstance(extra_layers, int) or extra_layers < 0:
    raise ValueError(f"extra_layers must be a non-negative int; got {extra_layers!r}")
  layers = list(model.layers)
  factorized = isinstance(layers[0], FactorizedDense)
  factors = check_weight_factorization(weight_factorization) if factorized else None
  if factorized and factors is None:
    raise ValueError("weight_factorization: a factorized MLP grows with (mu, sigma) for its new"
                     " units; got None")
  hidden = [round(layer.out_features * width_factor) for layer in layers[:-1]]
  width = hidden[-1] if hidden else layers[0].in_features
  features = hidden + [width] * extra_layers + [layers[-1].out_features]
  residual = tuple(getattr(model, "residual", (False,) * len(hidden))) + (True,) * extra_layers
  kw = {"weight_factorization": factors, "param_dtype": _param_dtype(layers[0]),
        "dtype": layers[0].dtype}
  in_width = layers[0].in_features
  if any(residual):
    new = GrownMLP(in_width, features, model.activation, residual=residual, rngs=rngs, **kw)
    for old_gate, new_gate in zip(getattr(model, "gates", ()), new.gates):
      new_gate[...] = old_gate[...]
  else:
    new = MLP(in_width, features, model.activation, rngs=rngs, **kw)
  if model.embedding is not None:
    new.embedding = nnx.data(nnx.clone(model.embedding))
  for index, old in enumerate(layers[:-1]):
    _copy_dense(new.layers[index], old)
  _copy_dense(new.layers[-1], layers[-1])
  return new


def _embed_modes(w: jax.Array, old: tuple[int, ...], new: tuple[int, ...]) -> jax.Array:
  """Spectral weights of ``old`` modes in the layout of ``new`` modes, zero elsewhere.

  Full axes hold frequencies ``0..m-1`` then ``-m..-1``; the last (real-FFT)
  axis ``0..m-1`` (see ``SpectralConv``)."""
  d = len(old)
  shape = tuple(2 * m for m in new[:-1]) + (new[-1],) + w.shape[d:]
  index = []
  for m, big in zip(old[:-1], new[:-1]):
    index.append(jnp.concatenate([jnp.arange(m), jnp.arange(2 * big - m, 2 * big)]))
  index.append(jnp.arange(old[-1]))
  grid = jnp.ix_(*index)
  return jnp.zeros(shape, w.dtype).at[grid].set(w)


def grow_fno(model: FNO, modes: Sequence[int]) -> FNO:
  """A copy of ``model`` keeping ``modes`` Fourier modes per axis, same function.

  Args:
    model: an ``FNO``.
    modes: one int per grid axis, each at least the model's current one.
  """
  if not isinstance(model, FNO):
    raise TypeError(f"grow_fno: model must be an opifex_fit.models.FNO; got {type(model).__name__}")
  old = tuple(model.modes)
  if isinstance(modes, int) or not isinstance(modes, Sequence) or len(modes) != len(old) or any(
      isinstance(m, bool) or not isinstance(m, int) or m < o for m, o in zip(modes, old)):
    raise ValueError(f"modes must be {len(old)} ints, each at least the model's modes {old}; "
                     f"got {modes!r}")
  modes = tuple(modes)
  new = nnx.clone(model)
  new.modes = modes
  for conv in new.spectral:
    assert isinstance(conv, SpectralConv)
    conv.w_real = nnx.Param(_embed_modes(conv.w_real[...], old, modes))
    conv.w_imag = nnx.Param(_embed_modes(conv.w_imag[...], old, modes))
    conv.modes = modes
  return new
