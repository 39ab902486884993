"""Fourier Neural Operator (Li et al., ICLR 2021) for 1-D, 2-D and 3-D grids.

Layout is channels-last, ``(batch, *grid, channels)``. The spectral weights are
complex in the paper; here each is a pair of real ``nnx.Param`` arrays
(``w_real``, ``w_imag``) so optax, weight decay and Orbax see ordinary float
arrays. The same parameters work on any grid that resolves the kept modes,
which gives the paper's zero-shot super-resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import float_dtype
from opifex_fit.models.mlp import ACTIVATIONS

_GRIDS = (None, "closed", "periodic")


def _activation(value) -> Callable:
  if callable(value):
    return value
  if value not in ACTIVATIONS:
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a callable;"
                     f" got {value!r}")
  return ACTIVATIONS[value]


def _positive_int(value, name: str) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise ValueError(f"{name} must be a positive int; got {value!r}")
  return value


class SpectralConv(nnx.Module):
  """Multiplies the lowest Fourier modes of a channels-last field by weights.

  For a ``d``-dimensional grid, ``rfftn`` over the grid axes keeps the
  frequencies ``0..m-1`` and ``-m..-1`` on the first ``d-1`` axes and ``0..m-1``
  on the last (real-FFT) axis, i.e. the ``2**(d-1)`` corner blocks of the
  paper, stored together as one array of shape ``(2*m1, ..., 2*m_{d-1}, m_d,
  in, out)``. Every other mode is zeroed.

  Example:
    >>> conv = SpectralConv(2, 3, modes=(8,), rngs=nnx.Rngs(0))
    >>> conv(jnp.ones((4, 64, 2))).shape
    (4, 64, 3)
  """

  def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int],
               *, param_dtype=jnp.float32, dtype=None, rngs: nnx.Rngs):
    param_dtype = float_dtype(param_dtype, "param_dtype")
    self.dtype = float_dtype(dtype, "dtype", allow_none=True)
    self.in_channels, self.out_channels = in_channels, out_channels
    self.modes = tuple(modes)
    shape = tuple(2 * m for m in self.modes[:-1]) + (self.modes[-1],)
    shape += (in_channels, out_channels)
    # The paper's init: uniform [0, 1) times 1 / (in * out), real and imaginary.
    scale = 1.0 / (in_channels * out_channels)
    self.w_real = nnx.Param(scale * jax.random.uniform(rngs.params(), shape, param_dtype))
    self.w_imag = nnx.Param(scale * jax.random.uniform(rngs.params(), shape, param_dtype))

  def _check_grid(self, grid: tuple[int, ...]) -> None:
    for axis, (n, m) in enumerate(zip(grid, self.modes)):
      last = axis == len(grid) - 1
      if (last and m > n // 2 + 1) or (not last and 2 * m > n):
        need = 2 * m - 2 if last else 2 * m
        raise ValueError(f"grid size {n} on axis {axis + 1} cannot hold modes[{axis}]={m};"
                         f" expected a grid of at least {need} points on that axis")

  def __call__(self, x: jax.Array) -> jax.Array:
    d = len(self.modes)
    grid = x.shape[1:1 + d]
    self._check_grid(grid)
    x = x.astype(self.dtype or jnp.result_type(x, self.w_real[...]))
    axes = tuple(range(1, 1 + d))
    x_ft = jnp.fft.rfftn(x, axes=axes)                    # (B, *k, C) complex
    # Gather the kept modes: low and high (negative) frequencies on full axes.
    kept = x_ft[(slice(None),) * d + (slice(0, self.modes[-1]),)]
    for axis, m in enumerate(self.modes[:-1], start=1):
      lo = jax.lax.slice_in_dim(kept, 0, m, axis=axis)
      hi = jax.lax.slice_in_dim(kept, grid[axis - 1] - m, grid[axis - 1], axis=axis)
      kept = jnp.concatenate([lo, hi], axis=axis)
    w = jax.lax.complex(self.w_real[...], self.w_imag[...]).astype(kept.dtype)
    letters = "abcdefg"[:d]
    out = jnp.einsum(f"z{letters}i,{letters}io->z{letters}o", kept, w)
    # Scatter back: zero-pad the middle of full axes, the end of the last axis.
    for axis, m in enumerate(self.modes[:-1], start=1):
      lo, hi = jnp.split(out, [m], axis=axis)
      pad_shape = list(out.shape)
      pad_shape[axis] = grid[axis - 1] - 2 * m
      out = jnp.concatenate([lo, jnp.zeros(pad_shape, out.dtype), hi], axis=axis)
    pad = [(0, 0)] * out.ndim
    pad[d] = (0, grid[-1] // 2 + 1 - self.modes[-1])
    out = jnp.pad(out, pad)
    return jnp.fft.irfftn(out, s=grid, axes=axes).astype(x.dtype)


class FNO(nnx.Module):
  """Fourier Neural Operator: lift, ``n_layers`` Fourier layers, project.

  Each Fourier layer is ``act(SpectralConv(v) + W v)`` with ``W`` a pointwise
  linear map; as in the paper the last layer has no activation. The lifting is
  a pointwise linear map to ``width`` channels and the projection a pointwise
  two-layer MLP (``width -> projection_features -> out_channels``).

  Args:
    in_channels: input channels (without the appended grid coordinates).
    out_channels: output channels.
    modes: Fourier modes kept per grid axis; ``len(modes)`` (1, 2 or 3) is the
      grid dimension.
    width: channels of the Fourier layers.
    n_layers: number of Fourier layers.
    grid: append the coordinates of each grid point as extra input channels:
      ``"closed"`` for ``linspace(0, 1, n)`` (a grid with both end points,
      e.g. Darcy on a node grid), ``"periodic"`` for ``j / n`` (a periodic
      grid), ``None`` for none. Coordinates are recomputed from the input's
      resolution, so the model runs on other grids unchanged.
    padding: zero points appended to the end of each grid axis after lifting
      and cropped before projection, for non-periodic problems (the paper
      pads Darcy by 9). 0 means none.
    projection_features: hidden width of the projection MLP.
    activation: ``"gelu"`` (paper), another name in ``models.mlp.ACTIVATIONS``
      or a callable.
    param_dtype: dtype of the weights (float32; ``jnp.float64`` needs
      ``jax_enable_x64``); ``dtype``: computation dtype (None: promote).
    rngs: ``nnx.Rngs`` for the initial weights.

  Example:
    >>> model = FNO(1, 1, modes=(16,), width=32, rngs=nnx.Rngs(0))
    >>> model(jnp.ones((8, 256, 1))).shape      # train at 256 ...
    (8, 256, 1)
    >>> model(jnp.ones((8, 512, 1))).shape      # ... evaluate at 512
    (8, 512, 1)
  """

  def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int],
               width: int, n_layers: int = 4, *, grid: str | None = "closed",
               padding: int = 0, projection_features: int = 128,
               activation: str | Callable = "gelu", param_dtype=jnp.float32, dtype=None,
               rngs: nnx.Rngs):
    _positive_int(in_channels, "in_channels")
    _positive_int(out_channels, "out_channels")
    _positive_int(width, "width")
    _positive_int(n_layers, "n_layers")
    _positive_int(projection_features, "projection_features")
    if isinstance(modes, int) or not isinstance(modes, Sequence) or not 1 <= len(modes) <= 3:
      raise ValueError(f"modes must be a sequence of 1 to 3 positive ints (one per grid"
                       f" axis); got {modes!r}")
    for i, m in enumerate(modes):
      _positive_int(m, f"modes[{i}]")
    if grid not in _GRIDS:
      raise ValueError(f"grid must be one of {_GRIDS}; got {grid!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
      raise ValueError(f"padding must be a non-negative int; got {padding!r}")
    self.in_channels, self.out_channels = in_channels, out_channels
    self.modes, self.grid, self.padding = tuple(modes), grid, padding
    self.activation = _activation(activation)
    d = len(self.modes)
    lift_in = in_channels + (d if grid is not None else 0)
    kw = {"param_dtype": float_dtype(param_dtype, "param_dtype"),
          "dtype": float_dtype(dtype, "dtype", allow_none=True), "rngs": rngs}
    self.lift = nnx.Linear(lift_in, width, **kw)
    self.spectral = nnx.List([SpectralConv(width, width, self.modes, **kw)
                              for _ in range(n_layers)])
    self.pointwise = nnx.List([nnx.Linear(width, width, **kw) for _ in range(n_layers)])
    self.proj1 = nnx.Linear(width, projection_features, **kw)
    self.proj2 = nnx.Linear(projection_features, out_channels, **kw)

  def _coordinates(self, grid_shape: tuple[int, ...], dtype) -> jax.Array:
    if self.grid == "closed":
      axes = [jnp.linspace(0.0, 1.0, n, dtype=dtype) for n in grid_shape]
    else:
      axes = [jnp.arange(n, dtype=dtype) / n for n in grid_shape]
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), axis=-1)

  def __call__(self, x: jax.Array) -> jax.Array:
    d = len(self.modes)
    if x.ndim != d + 2 or x.shape[-1] != self.in_channels:
      raise ValueError(f"FNO input must have shape (batch, {', '.join(['n'] * d)},"
                       f" {self.in_channels}) for modes={self.modes}; got {x.shape}")
    grid_shape = x.shape[1:1 + d]
    if self.grid is not None:
      coords = self._coordinates(grid_shape, x.dtype)
      x = jnp.concatenate([x, jnp.broadcast_to(coords, x.shape[:-1] + (d,))], axis=-1)
    v = self.lift(x)
    if self.padding:
      v = jnp.pad(v, [(0, 0)] + [(0, self.padding)] * d + [(0, 0)])
    n_layers = len(self.spectral)
    for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
      v = spectral(v) + pointwise(v)
      if i < n_layers - 1:
        v = self.activation(v)
    if self.padding:
      v = v[(slice(None),) + tuple(slice(0, n) for n in grid_shape)]
    return self.proj2(self.activation(self.proj1(v)))

