"""Step hooks: pure code a callback puts inside the jitted training step.

Most callbacks act between chunks (on the host, at boundaries). Some must act
at every optimizer step without shortening the chunks: drawing fresh
collocation points (``Resample``), reweighting a loss term from the current
residuals (``CausalWeighting``), collecting gradient statistics at the logging
cadence (``GradientStats``). They return a ``StepHook`` from
``Callback.step_hook(learner)``; the chunk traces the hook once and calls it
at every step of the ``lax.scan``.

A hook's device state (a pytree of fixed shapes and dtypes: an eps, the last
statistics) lives in ``TrainState.hooks[name]``, so it is donated, carried,
checkpointed and restored with the rest of the state. Callbacks read and
write it between chunks through ``learner.hook_state(name)`` and
``learner.set_hook_state(name, value)``; a new value of the same structure
never recompiles.

Per step, in this order (``one_step`` in ``engine/chunk.py``)::

  hs, data = hook.prepare_data(hs, data, key, step)      # each hook in order
  batch = minibatch of data
  terms = hook.loss_terms(hs, model, batch, terms_fn)     # nested: last hook outermost
  ...gradient, optimizer update...
  hs = hook.after_update(hs, StepInfo(...))
  at the chunk's end: logs |= hook.logs(hs)

Example:
  >>> import jax.numpy as jnp, numpy as np, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> from opifex_fit import callbacks as cb
  >>> from opifex_fit.engine.step_hooks import StepHook
  >>> class CountSteps(StepHook):              # counts steps on the device
  ...   name = "count"
  ...   def init(self, learner): return jnp.zeros((), jnp.int32)
  ...   def after_update(self, hs, info): return hs + 1
  ...   def logs(self, hs): return {"counted": hs}
  >>> class Counter(cb.Callback):
  ...   def step_hook(self, learner): return CountSteps()
  ...   def log_names(self, learner): return ("counted",)
  >>> x = np.linspace(-1, 1, 16)[:, None]
  >>> learner = of.Learner(of.models.MLP(1, [4, 1], rngs=nnx.Rngs(0)), of.Supervised())
  >>> learner.fit((x, x), steps=30, callbacks=[Counter()], verbose=0)["counted"][-1]
  30.0
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from opifex_fit import validators
from opifex_fit.engine.state import copy_tree

HOOK_STREAM = 0x400C  # fold_in tag: hook keys never collide with shuffling's


class StepInfo(NamedTuple):
  """What ``after_update`` sees of one step (all traced arrays).

  Attributes:
    step: the number of optimizer steps done, this one included (int32).
    loss: the weighted total loss of the step's batch.
    terms: term -> unweighted loss (after every hook's ``loss_terms``).
    grads: the gradient of ``loss`` (the params' tree).
    updates: the update applied (after ``lr_scale``; zeros if skipped).
    params: the parameters before the update.
    new_params: the parameters after it.
    batch: the step's batch.
    applied: bool, False if the update was skipped (non-finite).
    model: ``model()`` rebuilds the model with ``params`` (pure, train mode).
  """

  step: Any
  loss: Any
  terms: dict
  grads: Any
  updates: Any
  params: Any
  new_params: Any
  batch: Any
  applied: Any
  model: Callable


class StepHook:
  """Base class: override what the hook needs; every method is traced once.

  Attributes:
    name: the key of the hook's state in ``TrainState.hooks`` (unique per fit).
  """

  name: str = "hook"

  def init(self, learner) -> Any:
    """The hook's initial device state (a pytree of arrays; ``()`` for none)."""
    return ()

  def prepare_data(self, hs, data, key, step):
    """``(hs, data)`` the step trains on; returned data is also carried into
    the next step (``learner.data`` shows it after the chunk)."""
    return hs, data

  def loss_terms(self, hs, model, batch, terms_fn: Callable):
    """``(terms, hs)``: the unweighted terms of ``batch``; ``terms_fn(model,
    batch)`` gives those of the problem and the inner hooks."""
    return terms_fn(model, batch), hs

  def after_update(self, hs, info: StepInfo):
    """The new hook state after the step's update."""
    return hs

  def point_weights(self, hs, model, term: str, points, mask):
    """How much each of ``term``'s ``points`` counts in the term as trained:
    ``(m,)`` weights (the plain mean: ``mask / sum(mask)``), or None if this
    hook leaves ``term`` a plain mean. Read by ``NTKWeighting(as_trained=True)``
    (jaxpi's causally weighted NTK); ``mask`` is None or ``(m,)`` floats."""
    del hs, model, term, points, mask
    return None

  def logs(self, hs) -> dict:
    """Scalars added to the chunk's logs (read from the state at its end)."""
    return {}


_METHODS = ("init", "prepare_data", "loss_terms", "after_update", "logs")


def collect(callbacks, learner) -> tuple[StepHook, ...]:
  """The step hooks of this fit's callbacks, in callback order; names unique."""
  hooks = []
  for c in callbacks:
    hook = c.step_hook(learner)
    if hook is None:
      continue
    if not all(callable(getattr(hook, m, None)) for m in _METHODS):
      raise TypeError(f"{type(c).__name__}.step_hook() must return a StepHook or None; "
                      f"got {hook!r}")
    if hook.name in [h.name for h in hooks]:
      raise ValueError(f"two callbacks use the step hook name {hook.name!r}; pass "
                       f"each kind of in-step callback once (or give them distinct names)")
    hooks.append(hook)
  return tuple(hooks)


def prepare_all(hooks, hook_states: dict, data, key, step):
  states = dict(hook_states)
  for i, hook in enumerate(hooks):
    states[hook.name], data = hook.prepare_data(states[hook.name], data,
                                                jax.random.fold_in(key, i), step)
  return states, data


def terms_with_hooks(hooks, terms_fn: Callable) -> Callable:
  """``fn(model, batch, states) -> (terms, states)``: ``terms_fn`` wrapped by
  every hook's ``loss_terms`` (the first hook innermost)."""
  def base(model, batch, states):
    return terms_fn(model, batch), states

  fn = base
  for hook in hooks:
    def wrapped(model, batch, states, inner=fn, hook=hook):
      box = {}

      def inner_terms(m, b):
        terms, box["states"] = inner(m, b, states)
        return terms

      terms, own = hook.loss_terms(states[hook.name], model, batch, inner_terms)
      new_states = dict(box.get("states", states))
      new_states[hook.name] = own
      return terms, new_states
    fn = wrapped
  return fn


def point_weights(hooks, states: dict, model, term: str, points, mask=None):
  """``(m,)``: the weights of ``term``'s points as trained: those of the one
  hook that reweights them (``StepHook.point_weights``), else the plain mean
  ``mask / sum(mask)`` (all ones if ``mask`` is None)."""
  given = []
  for hook in hooks:
    method = getattr(hook, "point_weights", None)  # duck-typed hooks may not define it
    weights = None if method is None else method(states[hook.name], model, term, points, mask)
    if weights is not None:
      given.append((hook.name, weights))
  if len(given) > 1:
    raise ValueError(f"the step hooks {[n for n, _ in given]} all reweight the points of "
                     f"{term!r}; point weights support one")
  return given[0][1] if given else mean_shares(points, mask)


def mean_shares(points, mask=None):
  """``(m,)``: the plain mean's weights, ``mask / sum(mask)`` (all ones if None)."""
  counted = jnp.ones(points.shape[:1], points.dtype) if mask is None else mask
  return counted / jnp.maximum(jnp.sum(counted), 1)


def after_update_all(hooks, states: dict, info: StepInfo) -> dict:
  states = dict(states)
  for hook in hooks:
    states[hook.name] = hook.after_update(states[hook.name], info)
  return states


def logs_of(hooks, states: dict) -> dict:
  out = {}
  for hook in hooks:
    out.update(hook.logs(states[hook.name]))
  return out


def initial_states(hooks, learner, current: dict) -> dict:
  """Each hook's device state for this fit: the one already in the state if
  it has the structure ``init`` gives (a continued fit keeps it), else fresh."""
  def signature(tree):
    return jax.tree.structure(tree), [(a.shape, a.dtype) for a in jax.tree.leaves(tree)]

  out = {}
  for hook in hooks:
    fresh = copy_tree(hook.init(learner))  # strong types: no retrace after the first chunk
    old = current.get(hook.name)
    out[hook.name] = old if old is not None and signature(old) == signature(fresh) else fresh
  return out


def replacement(hooks: dict, name: str, value) -> dict:
  """``hooks`` with ``hooks[name] = value`` (``learner.set_hook_state``): of
  the same structure, shapes and dtypes only (plain numbers take the old
  dtypes), so a new value never recompiles."""
  if name not in hooks:
    raise KeyError(f"no step hook {name!r} in this fit; hooks: {sorted(hooks)}")
  old = hooks[name]
  if jax.tree.structure(value) == jax.tree.structure(old):
    value = jax.tree.map(lambda v, o: v if isinstance(v, jax.Array) else jnp.asarray(v, o.dtype),
                         value, old)
  validators.check_same_structure(value, old, f"hook state {name!r}")
  return dict(hooks, **{name: value})


class PeriodicStats(StepHook):
  """A hook that computes named scalars at the steps that end a multiple of
  ``every`` (the logging cadence) and keeps the latest ones (NaN before the
  first). "When" is this class; "what" is ``compute(info) -> dict``, which
  runs inside a ``lax.cond`` branch, so other steps pay only the test."""

  def __init__(self, name: str, every: int, names, compute: Callable, dtype):
    self.name, self.every, self.names, self.compute = name, every, tuple(names), compute
    self.dtype = dtype

  def init(self, learner):
    return {n: jnp.full((), jnp.nan, self.dtype) for n in self.names}

  def after_update(self, hs, info):
    def fresh(_):
      values = self.compute(info)
      return {n: jnp.asarray(values[n]).astype(self.dtype) for n in self.names}
    return jax.lax.cond(info.step % self.every == 0, fresh, lambda _: hs, None)

  def logs(self, hs):
    return dict(hs)
