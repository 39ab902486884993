"""DeepONet (Lu, Jin, Pang, Zhang, Karniadakis, Nat. Mach. Intell. 2021).

``G(u)(y) ~ sum_k b_k(u(x_1), ..., u(x_m)) * t_k(y) + b0``: a branch net reads
the input function at ``m`` fixed sensors, a trunk net reads the query point
``y``, and their last layers are contracted. Following the paper (and
DeepXDE), the branch's last layer is linear and the trunk's last layer has the
activation too; ``b0`` is a trained scalar per output, initialised at zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit.models._common import float_dtype
from opifex_fit.models.mlp import MLP


def _check_sizes(value, name: str) -> tuple[int, ...]:
  if isinstance(value, (int, str)) or not isinstance(value, Sequence) or len(value) < 2 \
      or any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in value):
    raise ValueError(f"{name} must be a list of at least 2 positive ints (input size,"
                     f" hidden sizes..., output size); got {value!r}")
  return tuple(value)


class DeepONet(nnx.Module):
  """Unstacked DeepONet with a bias, for one or several outputs.

  Args:
    branch: layer sizes of the branch net, ``[m, hidden..., p]``; ``m`` is
      the number of sensors.
    trunk: layer sizes of the trunk net, ``[d, hidden..., p]``; ``d`` is the
      dimension of a query point. Both must end in the same ``p``.
    num_outputs: outputs of the operator. With more than one, ``p`` is split
      into ``num_outputs`` equal groups, each contracted separately (DeepXDE's
      "split_both"), so ``p`` must be divisible by ``num_outputs``.
    activation: a name in ``models.mlp.ACTIVATIONS`` (default ``"tanh"``) or a
      callable. Both nets are ``MLP``s (Glorot-normal weights, DeepXDE's
      default).
    param_dtype: dtype of the weights (float32; ``jnp.float64`` needs
      ``jax_enable_x64``); ``dtype``: computation dtype (None: promote).
    rngs: ``nnx.Rngs`` for the initial weights.

  Call ``model((u_sensors, y))`` with ``u_sensors`` of shape ``(B, m)`` and
  ``y`` of shape

  * ``(B, d)``: one query per function -> output ``(B, num_outputs)``;
  * ``(B, P, d)``: ``P`` queries per function, or
  * ``(P, d)`` or ``(1, P, d)``: the same ``P`` queries for every function
    (the efficient "aligned" form: the trunk runs once on ``P`` points)
    -> output ``(B, P)`` for one output, ``(B, P, num_outputs)`` for several.

  A 2-D ``y`` whose length equals the batch is read as one query per
  function; pass shared queries as ``(1, P, d)`` to say otherwise.

  Example:
    >>> net = DeepONet([100, 40, 40], [1, 40, 40], rngs=nnx.Rngs(0))
    >>> u = jnp.ones((8, 100)); y = jnp.linspace(0, 1, 50)[:, None]
    >>> net((u, y)).shape
    (8, 50)
  """

  def __init__(self, branch: Sequence[int], trunk: Sequence[int], *, num_outputs: int = 1,
               activation: str | Callable = "tanh", param_dtype=jnp.float32, dtype=None,
               rngs: nnx.Rngs):
    branch, trunk = _check_sizes(branch, "branch"), _check_sizes(trunk, "trunk")
    if branch[-1] != trunk[-1]:
      raise ValueError(f"branch and trunk must end in the same size p; got branch[-1]="
                       f"{branch[-1]} and trunk[-1]={trunk[-1]}")
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs <= 0 \
        or branch[-1] % num_outputs:
      raise ValueError(f"num_outputs must be a positive int dividing p={branch[-1]};"
                       f" got {num_outputs!r}")
    self.num_sensors, self.dim = branch[0], trunk[0]
    self.num_outputs = num_outputs
    kw = {"activation": activation, "param_dtype": param_dtype, "dtype": dtype, "rngs": rngs}
    self.branch = MLP(branch[0], branch[1:], **kw)
    self.trunk = MLP(trunk[0], trunk[1:], **kw)
    self.bias = nnx.Param(jnp.zeros((num_outputs,), float_dtype(param_dtype, "param_dtype")))

  def __call__(self, inputs) -> jax.Array:
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
      raise TypeError(f"DeepONet takes one (u_sensors, y) pair; got {type(inputs).__name__}")
    u, y = inputs
    m, d, q = self.num_sensors, self.dim, self.num_outputs
    if u.ndim != 2 or u.shape[-1] != m:
      raise ValueError(f"u_sensors must have shape (batch, {m}); got {u.shape}")
    if y.ndim not in (2, 3) or y.shape[-1] != d \
        or (y.ndim == 3 and y.shape[0] not in (1, u.shape[0])):
      raise ValueError(f"y must have shape (batch, {d}), (batch, P, {d}), (P, {d}) or"
                       f" (1, P, {d}) with batch={u.shape[0]}; got {y.shape}")
    b = self.branch(u).reshape(u.shape[0], q, -1)            # (B, q, p/q)
    t = self.trunk.activation(self.trunk(y))
    t = t.reshape(t.shape[:-1] + (q, -1))
    if y.ndim == 2 and y.shape[0] == u.shape[0]:             # one query per function
      return jnp.einsum("bqk,bqk->bq", b, t) + self.bias[...]
    if y.ndim == 2 or y.shape[0] == 1:                       # shared queries: trunk ran on P
      t = t.reshape(t.shape[-3:])
      out = jnp.einsum("bqk,Pqk->bPq", b, t)
    else:
      out = jnp.einsum("bqk,bPqk->bPq", b, t)
    out = out + self.bias[...]
    return out[..., 0] if q == 1 else out
