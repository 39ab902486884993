"""PirateNet (Wang, Li, Chen, Perdikaris 2024): adaptive residual blocks, alpha = 0 at init."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import activation_fn, float_dtype, positive_int
from opifex_fit.models.dense import dense, kernel_of, set_kernel
from opifex_fit.models.embedding import build_embedding
from opifex_fit.models.modified_mlp import gate


class PirateBlock(nnx.Module):
  """Three dense layers, the first two gated by ``U, V``; ``x + alpha (f(x) - x)``.

  ``f = act(D3(gate(act(D2(gate(act(D1 x), U, V))), U, V)))`` and the output is
  ``alpha * f + (1 - alpha) * x`` with a trainable ``alpha`` (jaxpi's
  ``PIModifiedBottleneck``; the skip comes after the last activation).
  """

  def __init__(self, width: int, hidden: int, activation, *, alpha_init: float, kw: dict):
    self.activation = activation
    self.dense1 = dense(width, hidden, **kw)
    self.dense2 = dense(hidden, hidden, **kw)
    self.dense3 = dense(hidden, width, **kw)
    self.alpha = nnx.Param(jnp.full((1,), alpha_init, kw["param_dtype"]))

  def __call__(self, x: jax.Array, u: jax.Array, v: jax.Array) -> jax.Array:
    act = self.activation
    f = gate(act(self.dense1(x)), u, v)
    f = gate(act(self.dense2(f)), u, v)
    f = act(self.dense3(f))
    alpha = self.alpha[...]
    return alpha * f + (1 - alpha) * x


class PirateNet(nnx.Module):
  """Embedding -> gates ``U, V`` -> ``n_blocks`` adaptive residual blocks -> linear readout.

  Every block's ``alpha`` starts at ``alpha_init=0``, so at initialisation the
  blocks are the identity and the network is the linear readout of the
  embedding: ``readout(embedding(x))``. ``init_last_layer(x, u)`` then fits
  that readout to data by least squares (the paper's physics-informed
  initialisation, e.g. on the initial condition), so training starts from a
  network that already matches it. Use an embedding (``FourierFeatures``,
  possibly after ``PeriodicEmbedding``), or the start is linear in ``x``.
  Unlike jaxpi, whose least-squares readout has no bias, the readout keeps
  its bias and the fit sets both.

  Args:
    in_features: input size.
    hidden_features: width of ``U``, ``V`` and the blocks' inner layers.
    out_features: output size.
    n_blocks: number of residual blocks (jaxpi's ``num_layers``, 3 for Allen-Cahn).
    activation: a name in ``models.mlp.ACTIVATIONS`` or a callable.
    embedding: ``None``, an embedding module or a list (see ``MLP``).
    weight_factorization: ``None`` or ``(mu, sigma)`` for every dense layer.
    alpha_init: initial ``alpha`` of every block (jaxpi's ``nonlinearity``).
    param_dtype, dtype: as in ``MLP``.

  Example:
    >>> from opifex_fit.models import FourierFeatures
    >>> ff = FourierFeatures(2, 32, scale=1.0, rngs=nnx.Rngs(1))
    >>> net = PirateNet(2, 64, 1, embedding=ff, rngs=nnx.Rngs(0))
    >>> x = jax.random.uniform(jax.random.key(0), (20, 2))
    >>> rms = net.init_last_layer(x, jnp.sin(x[:, :1]))     # 20 equations, 33 unknowns
    >>> bool(rms < 1e-4), net(x).shape
    (True, (20, 1))
  """

  def __init__(self, in_features: int, hidden_features: int = 256, out_features: int = 1,
               n_blocks: int = 3, activation="tanh", *, embedding=None,
               weight_factorization=None, alpha_init: float = 0.0, param_dtype=jnp.float32,
               dtype=None, rngs: nnx.Rngs):
    positive_int(in_features, "in_features")
    hidden = positive_int(hidden_features, "hidden_features")
    self.out_features = positive_int(out_features, "out_features")
    positive_int(n_blocks, "n_blocks")
    if isinstance(alpha_init, bool) or not isinstance(alpha_init, (int, float)):
      raise TypeError(f"alpha_init must be a number; got {alpha_init!r}")
    self.activation = activation_fn(activation)
    kw = {"weight_factorization": weight_factorization,
          "param_dtype": float_dtype(param_dtype, "param_dtype"),
          "dtype": float_dtype(dtype, "dtype", allow_none=True), "rngs": rngs}
    self.embedding, width = build_embedding(embedding, in_features)
    self.encoder_u = dense(width, hidden, **kw)
    self.encoder_v = dense(width, hidden, **kw)
    self.blocks = nnx.List([PirateBlock(width, hidden, self.activation,
                                        alpha_init=float(alpha_init), kw=kw)
                            for _ in range(n_blocks)])
    self.readout = dense(width, self.out_features, **kw)

  def last_hidden(self, x: jax.Array) -> jax.Array:
    """The features the readout reads: the output of the last block."""
    if self.embedding is not None:
      x = self.embedding(x)
    u = self.activation(self.encoder_u(x))
    v = self.activation(self.encoder_v(x))
    for block in self.blocks:
      x = block(x, u, v)
    return x

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.readout(self.last_hidden(x))

  def init_last_layer(self, x: jax.Array, u: jax.Array) -> jax.Array:
    """Sets the readout's kernel and bias to the least-squares fit of ``u`` at ``x``.

    ``x``: ``(N, in_features)``; ``u``: ``(N,)`` or ``(N, out_features)``.
    The minimum-norm solution is used when the system is underdetermined,
    so the fit is exact whenever it is solvable. Returns the RMS residual
    of the fit. A factorized readout keeps its scales ``g``.
    """
    x, u = jnp.asarray(x), jnp.asarray(u)
    if u.ndim == 1:
      u = u[:, None]
    if x.ndim != 2 or u.ndim != 2 or u.shape != (x.shape[0], self.out_features):
      raise ValueError(f"init_last_layer needs x of shape (N, in_features) and u of shape"
                       f" (N,) or (N, {self.out_features}); got x {x.shape}, u {u.shape}")
    h = self.last_hidden(x)
    a = jnp.concatenate([h, jnp.ones_like(h[:, :1])], axis=1)
    coeffs, *_ = jnp.linalg.lstsq(a, u.astype(a.dtype))
    set_kernel(self.readout, coeffs[:-1])
    self.readout.bias[...] = coeffs[-1].astype(self.readout.bias[...].dtype)
    fit = h @ kernel_of(self.readout) + self.readout.bias[...]
    return jnp.sqrt(jnp.mean((fit - u) ** 2))
