"""Train and eval modes of an NNX model, and merging it inside pure functions.

The learner keeps the model as ``(graphdef, params, rest)``: ``rest`` holds
every non-``Param`` variable (BatchNorm statistics, Dropout RNG streams, any
custom ``nnx.Variable``) and is carried through every training step in the
``TrainState``. The two modes differ only in static attributes, so they are
two graphdefs over one state, made with NNX's own ``nnx.view``:

* train mode (``fit``): ``deterministic=False, use_running_average=False``:
  Dropout is active and draws from its RNG stream, BatchNorm normalizes by
  batch statistics and updates its running averages;
* eval mode (``evaluate``, ``predict``, validation):
  ``deterministic=True, use_running_average=True``: Dropout is the identity,
  BatchNorm uses the running averages, and nothing in ``rest`` changes.

Dropout draws from the module's own RNG stream (the ``nnx.Rngs`` it was
built with, not the learner's seed); its key and count are in ``rest``, so
checkpoints resume the same masks.

Like Keras' ``training=True`` in ``fit``, the training mode is imposed
whatever mode the module was built or left in; the user's module itself is
never switched. Modules of your own take part by defining ``set_view``
(see ``nnx.view``); modules without those attributes are unaffected.

Example:
  >>> from flax import nnx
  >>> from opifex_fit.engine import modes
  >>> model = nnx.Sequential(nnx.Linear(2, 4, rngs=nnx.Rngs(0)), nnx.Dropout(0.5))
  >>> modes.eval_view(model).layers[1].deterministic, model.layers[1].deterministic
  (True, False)
"""

from __future__ import annotations

from flax import nnx

TRAIN = {"deterministic": False, "use_running_average": False}
EVAL = {"deterministic": True, "use_running_average": True}


def train_view(model: nnx.Module) -> nnx.Module:
  """``model`` in training mode, sharing its variables."""
  return nnx.view(model, raise_if_not_found=False, **TRAIN)


def eval_view(model: nnx.Module) -> nnx.Module:
  """``model`` in evaluation mode, sharing its variables."""
  return nnx.view(model, raise_if_not_found=False, **EVAL)


def eval_graphdef(graphdef, params, rest):
  """The eval-mode graphdef over the same ``(params, rest)`` structure."""
  return nnx.split(eval_view(nnx.merge(graphdef, params, rest)), nnx.Param, ...)[0]


def merge(graphdef, params, rest) -> nnx.Module:
  """The model inside a pure (traced) function.

  Fresh variables (``copy=True``): a module may then update its own state
  (BatchNorm statistics, RNG counts) under ``jax.grad`` and ``lax.scan``;
  with shared variables NNX raises ``TraceContextError`` (flax#5050).
  Read the updated state back with ``nnx.split(model, nnx.Param, ...)``.
  """
  return nnx.merge(graphdef, params, rest, copy=True)


def split_train(model) -> tuple:
  """``(graphdef, params, rest)`` of ``model`` in train mode (what ``fit``
  trains); a model that is not an ``nnx.Module`` raises TypeError."""
  if not isinstance(model, nnx.Module):
    raise TypeError(f"model must be a flax.nnx.Module; got {type(model).__name__}")
  return nnx.split(train_view(model), nnx.Param, ...)
