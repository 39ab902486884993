"""The loss terms of a fit: the problem's, plus those callbacks add.

``learner.add_loss_term(name, fn, weight)`` (e.g. ``cb.WeightPenalty``'s
``l2_loss``) adds ``weight * fn(model, data)`` to the loss; the chunk and
evaluation compute every term through ``LossTerms.__call__``.
"""

from __future__ import annotations

from opifex_fit import validators


class LossTerms:
  """The problem's terms followed by the added ones, in order of addition."""

  def __init__(self, problem):
    self.problem = problem
    self.extra: dict = {}

  def names(self) -> tuple[str, ...]:
    return tuple(self.problem.term_names()) + tuple(self.extra)

  def add(self, name: str, fn, weight) -> float | None:
    """Registers ``fn`` as ``name``; returns its checked weight, or None when
    the same ``fn`` is already registered under ``name`` (a no-op)."""
    if not isinstance(name, str) or not name:
      raise ValueError(f"name must be a non-empty string; got {name!r}")
    if not callable(fn):
      raise TypeError(f"fn must be callable (model, data) -> scalar; got {fn!r}")
    if name in self.extra and self.extra[name] is fn:
      return None
    if name in self.names():
      raise ValueError(f"loss term {name!r} already exists; terms are {self.names()}")
    weight = validators.nonnegative_float(weight, f"weight (of loss term {name!r})")
    self.extra[name] = fn
    return weight

  def __call__(self, model, data) -> dict:
    """``{term: unweighted loss}`` of ``model`` on ``data``."""
    terms = dict(self.problem.loss_terms(model, data))
    for name, fn in self.extra.items():
      terms[name] = fn(model, data)
    return terms
