"""The learner's optimizers: checked, wrapped once per object, fresh state.

The chunk calls every optimizer with ``value``, ``grad`` and ``value_fn``
(``optax.lbfgs`` needs them), so each is wrapped in
``optax.with_extra_args_support``. The wrapper keys the compiled chunk, so
one optimizer object always gets the same wrapper: setting an optimizer used
before (Adam again after L-BFGS) reuses its compiled chunk.
"""

from __future__ import annotations

import optax

from opifex_fit.engine.state import copy_tree


class Optimizers:
  """One wrapper per optimizer object (kept alive with it)."""

  def __init__(self):
    self._wrapped: dict[int, tuple] = {}

  def wrap(self, optimizer) -> optax.GradientTransformation:
    """``optimizer`` checked and wrapped (the same wrapper for the same object)."""
    if not isinstance(optimizer, optax.GradientTransformation):
      raise TypeError(f"optimizer must be an optax.GradientTransformation (e.g. "
                      f"optax.adam(1e-3)); got {optimizer!r} of type {type(optimizer).__name__}")
    entry = self._wrapped.get(id(optimizer))
    if entry is None or entry[0] is not optimizer:
      entry = self._wrapped[id(optimizer)] = (optimizer, optax.with_extra_args_support(optimizer))
    return entry[1]


def init_opt_state(optimizer, params):
  """Fresh optimizer state in own, strongly typed buffers: some inits
  (``optax.lbfgs``) keep references to the params (the chunk donates both:
  "donate the same buffer twice") or make weakly typed scalars (the chunk
  returns them strong: a retrace). ``copy_tree`` does both without compiling
  a copy per shape."""
  return copy_tree(optimizer.init(params))
