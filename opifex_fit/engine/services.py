"""Functions of the training state for callbacks: compiled once, trace-counted, placed.

A callback that needs its own jitted function of the model (per-term
gradients, residuals on a candidate pool, a reference error) asks the learner
for one instead of rebuilding the model from its graphdef::

  run = learner.compile("my_error", lambda s, x: s.model(x) - exact(x), key=self)
  err = run(x)          # the model of the CURRENT state, at every call

``fn(s, *args)`` receives a ``StateView`` ``s``: the current state's traced
``params``, ``rest`` and ``loss_weights``, the model rebuilt from them
(``s.model``, pure: ``modes.merge``), and the traceable pieces callbacks share
(``term_losses``, ``term_gradients``, ``residuals``). The training data is
not part of it: a function that needs it takes it as an argument
(``run(learner.data)``), so that functions that do not are not retraced
when the data change shape.

What ``compile`` takes care of, so that no callback does it by hand:

* cache: the jitted function lives in the learner's cache (``learner.cached``) under
  ``(name, key, eval_mode, graphdef, loss-term names)``: a new model
  structure or a new loss term builds a new one; ``add_loss_term`` clears
  the cache (one mechanism for every jitted function of the learner), an
  optimizer switch does not (these functions do not depend on it). ``key``
  tells apart two functions of one name (two callbacks of one class: pass
  ``key=self``); the ``fn`` of a call that hits the cache is not used.
* trace counting: every trace adds one to ``learner.trace_counts[name]``.
* placement: on a mesh the arguments are placed by the learner's rules
  (split where the leading dimension divides the device count, else
  replicated), data given to ``s.term_losses`` / ``s.term_gradients`` is
  split over the data axis as in the training chunk, and the outputs come
  back replicated
  (``sharding.jit_replicated``).
* modes: ``eval_mode=True`` rebuilds the model in eval mode (Dropout off,
  BatchNorm running averages), as ``predict`` does; the default is train mode,
  the mode of the loss the optimizer minimises.
* step hooks: ``hooked=True`` also passes the fit's step-hook states, so
  ``s.term_losses(..., hooked=True)`` / ``s.term_gradients(..., hooked=True)``
  are the terms as the training step sees them, after every hook's
  ``loss_terms`` (e.g. the causally weighted residual of
  ``cb.CausalWeighting``), with the hooks' current states.

Example:
  >>> import numpy as np
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> learner = of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised())
  >>> run = learner.compile("double", lambda s, x: 2 * s.model(x))
  >>> x = np.ones((3, 1), np.float32)
  >>> bool(np.allclose(run(x), 2 * learner.predict(x))), learner.trace_counts["double"]
  (True, 1)
  >>> _ = run(x); learner.trace_counts["double"]   # cached: no second trace
  1
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from opifex_fit import validators
from opifex_fit.engine import modes, step_hooks
from opifex_fit.parallel.sharding import jit_replicated


class StateView:
  """The current training state inside a function compiled by ``learner.compile``.

  Attributes (traced arrays): ``params``, ``rest`` (the model's other
  variables), ``loss_weights`` (term -> scalar), ``hook_states`` (hook name
  -> state; only in functions compiled with ``hooked=True``, else None).
  """

  def __init__(self, learner, graphdef, params, rest, loss_weights, hook_states=None):
    self._learner, self._graphdef = learner, graphdef
    self._placement = learner.placement
    self.params, self.rest, self.loss_weights = params, rest, loss_weights
    self.hook_states = hook_states
    self._model = None

  @property
  def model(self) -> nnx.Module:
    """The model of the current ``params`` and ``rest`` (built once per trace)."""
    if self._model is None:
      self._model = self.merge()
    return self._model

  def merge(self, params=None, rest=None) -> nnx.Module:
    """A fresh model of ``params`` / ``rest`` (default: the state's): what
    differentiation w.r.t. the parameters needs, e.g.
    ``jax.grad(lambda p: loss(s.merge(p)))(s.params)``."""
    return modes.merge(self._graphdef, self.params if params is None else params,
                       self.rest if rest is None else rest)

  def constrain(self, tree):
    """On a mesh: every array of ``tree`` split over the data axis (else unchanged)."""
    return tree if self._placement is None or tree is None else self._placement.constrain(tree)

  def term_losses(self, data, terms: Sequence[str] | None = None, *, params=None,
                  hooked: bool = False) -> dict:
    """``{term: loss}``: the unweighted loss terms (problem terms and those of
    ``add_loss_term``; ``terms``: which, None: all) on ``data`` (e.g. the
    training data, passed in as ``run(learner.data)``), at ``params``
    (default: the state's). ``hooked=True``: after the fit's step hooks'
    ``loss_terms`` (needs ``compile(..., hooked=True)``)."""
    model, data = self.merge(params), self.constrain(data)
    if not hooked:
      values = self._learner.loss_terms_fn(model, data)
    elif self.hook_states is None:
      raise ValueError("term_losses(hooked=True) needs a function compiled with "
                       "learner.compile(..., hooked=True)")
    else:
      hooked_fn = step_hooks.terms_with_hooks(self._learner.step_hooks, self._learner.loss_terms_fn)
      values, _ = hooked_fn(model, data, self.hook_states)
    return {t: values[t] for t in (values if terms is None else terms)}

  def term_gradients(self, data, terms: Sequence[str] | None = None, *,
                     select: Sequence[int] | None = None, hooked: bool = False):
    """``(losses (T,), grads)``: the unweighted terms as float32 and, for each
    selected parameter leaf, ``(T, *leaf.shape)``: row ``i`` is ``dL_i/dW``.
    ``hooked``: the terms after the step hooks (see ``term_losses``).

    ``select`` holds indices into ``jax.tree.leaves(params)`` (None: all).
    One ``jax.jacrev`` of the stacked term vector gives every term's gradient.
    """
    terms = tuple(self._learner.term_names() if terms is None else terms)
    leaves, treedef = jax.tree.flatten(self.params)
    idx = tuple(range(len(leaves))) if select is None else tuple(select)

    def losses(chosen):
      full = list(leaves)
      for i, v in zip(idx, chosen):
        full[i] = v
      values = self.term_losses(data, terms, params=treedef.unflatten(full), hooked=hooked)
      vec = jnp.stack([jnp.asarray(values[t], jnp.float32) for t in terms])
      return vec, vec

    grads, values = jax.jacrev(losses, has_aux=True)([leaves[i] for i in idx])
    return values, grads

  def point_weights(self, term: str, points, mask=None):
    """``(m,)``: how much each point of ``term`` counts in the term as trained
    (``step_hooks.point_weights``; needs ``compile(..., hooked=True)``)."""
    if self.hook_states is None:
      raise ValueError("point_weights needs a function compiled with "
                       "learner.compile(..., hooked=True)")
    return step_hooks.point_weights(self._learner.step_hooks, self.hook_states, self.model, term,
                                    self.constrain(points), mask)

  def residuals(self, term: str, points, *, chunk_size: int | None = None, params=None):
    """The problem's pointwise residuals of ``term`` at ``points`` ``(m, dim)``:
    ``(m,)``, or ``(m, k)`` for systems (``problem.pointwise_residuals``).

    ``chunk_size=None`` evaluates all points at once; an int evaluates them
    point by point in batches of that many (``lax.map``: bounded memory for
    large candidate pools), each batch split over the mesh's data axis.
    """
    problem = self._learner.problem
    if not hasattr(problem, "pointwise_residuals"):
      raise TypeError(f"residuals need a problem with pointwise_residuals(model, term, points),"
                      f" such as of.PDEProblem; the learner's problem is {type(problem).__name__}")
    model = self.model if params is None else self.merge(params)
    if chunk_size is None:
      return problem.pointwise_residuals(model, term, self.constrain(points))

    def one(x):
      return problem.pointwise_residuals(model, term, x[None])[0]
    batch = min(chunk_size, points.shape[0])
    if self._placement is None:
      return jax.lax.map(one, points, batch_size=batch)
    return map_split(one, points, batch, self._placement.constrain)


def compile_fn(learner, name: str, fn: Callable, *, eval_mode: bool = False,
               key: Hashable = None, hooked: bool = False) -> Callable:
  """``run(*args) -> fn(StateView of the current state, *args)``, jitted; see the module doc."""
  if not isinstance(name, str) or not name:
    raise ValueError(f"name must be a non-empty string (the trace_counts entry); got {name!r}")
  if not callable(fn):
    raise TypeError(f"fn must be callable (state_view, *args) -> outputs; got {fn!r}")
  validators.check_bool(eval_mode, "eval_mode")
  validators.check_bool(hooked, "hooked")
  try:
    hash(key)
  except TypeError as e:
    raise TypeError(f"key must be hashable (it is part of the cache key); got {key!r}") from e

  def run(*args):
    graphdef = learner.eval_graphdef if eval_mode else learner.graphdef
    # A hooked function closes over the fit's hooks: other hooks, another function.
    hooks = learner.step_hooks if hooked else None
    cache_key = ("service", name, key, eval_mode, graphdef, learner.term_names(), hooks)
    jitted = learner.cached(cache_key, lambda: _build(learner, name, fn, graphdef, hooked))
    s = learner.state
    states = (s.hooks,) if hooked else ()
    return jitted(s.params, s.rest, s.loss_weights, *states, *learner.place(args))
  return run


def _build(learner, name, fn, graphdef, hooked):
  counts = learner.trace_counts

  def traced(params, rest, loss_weights, *args):
    counts[name] = counts.get(name, 0) + 1  # runs once per trace, never per call
    hook_states, args = (args[0], args[1:]) if hooked else (None, args)
    return fn(StateView(learner, graphdef, params, rest, loss_weights, hook_states), *args)
  return jit_replicated(traced, learner.placement)


# -- eager services: one call, the current state --------------------------------
def check_terms(learner, terms) -> tuple[str, ...]:
  """None (all of the learner's terms) or known, distinct names, as a tuple."""
  real = tuple(learner.term_names())
  if terms is None:
    return real
  chosen = (terms,) if isinstance(terms, str) else tuple(terms)
  unknown = [t for t in chosen if t not in real]
  if not chosen or unknown or len(set(chosen)) != len(chosen):
    raise ValueError(f"terms must be None or distinct loss-term names out of {list(real)};"
                     f" got {terms!r}")
  return chosen


def _data_arg(learner, data):
  """The training data (``data=None``) or ``data`` prepared as ``evaluate`` does."""
  if data is None:
    if learner.data is None:
      raise ValueError("there is no training data yet (before the first fit); pass data=")
    return learner.data
  return learner.problem.prepare(learner.model, data, "data")


def term_losses(learner, terms=None, data=None) -> dict:
  """``{term: unweighted loss}`` (device scalars) of the current state."""
  terms, data = check_terms(learner, terms), _data_arg(learner, data)
  run = compile_fn(learner, "term_losses", lambda s, d: s.term_losses(d, terms), key=terms)
  return run(data)


def term_gradients(learner, terms=None, data=None, select=None):
  """``(losses (T,), grads)`` of the current state; see ``StateView.term_gradients``."""
  terms, data = check_terms(learner, terms), _data_arg(learner, data)
  if select is not None:
    n = len(jax.tree.leaves(learner.state.params))
    select = tuple(select)
    if not select or not all(isinstance(i, int) and 0 <= i < n for i in select):
      raise ValueError(f"select must be None or indices into the {n} parameter leaves; got"
                       f" {select!r}")
  run = compile_fn(learner, "term_gradients",
                lambda s, d: s.term_gradients(d, terms, select=select), key=(terms, select))
  return run(data)


def residuals(learner, term: str, points, chunk_size: int | None = None, *,
              eval_mode: bool = False) -> jax.Array:
  """Pointwise residuals of ``term`` at ``points`` for the current state."""
  if not hasattr(learner.problem, "pointwise_residuals"):
    raise TypeError(f"residuals need a problem with pointwise_residuals(model, term, points),"
                    f" such as of.PDEProblem; the learner's problem is"
                    f" {type(learner.problem).__name__}")
  if term not in learner.problem.term_names():
    raise ValueError(f"term must be one of the problem's terms {list(learner.problem.term_names())};"
                     f" got {term!r}")
  if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                 or chunk_size <= 0):
    raise ValueError(f"chunk_size must be None or a positive int; got {chunk_size!r}")
  run = compile_fn(learner, "residuals",
                lambda s, x: s.residuals(term, x, chunk_size=chunk_size),
                eval_mode=eval_mode, key=(term, chunk_size))
  return run(jnp.asarray(points))


def map_split(f, xs, batch_size: int, constrain):
  """``jax.lax.map(f, xs, batch_size=batch_size)`` (the same scan over full
  batches, then the remainder) with every batch passed through ``constrain``.

  Splitting each batch, not the whole array: a split pool reshaped into
  batches would put the split on the scanned axis, i.e. one device per batch.
  """
  n = xs.shape[0]
  full = n - n % batch_size
  parts = []
  if full:
    batches = xs[:full].reshape(full // batch_size, batch_size, *xs.shape[1:])
    _, ys = jax.lax.scan(lambda _, x: (None, jax.vmap(f)(constrain(x))), None, batches)
    parts.append(ys.reshape(full, *ys.shape[2:]))
  if full < n:
    parts.append(jax.vmap(f)(constrain(xs[full:])))
  return jnp.concatenate(parts) if len(parts) > 1 else parts[0]
