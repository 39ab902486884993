"""LossWeights: ``learner.loss_weights``, a live view of the state's weights."""

from __future__ import annotations

from collections.abc import MutableMapping

from opifex_fit import validators
from opifex_fit.engine.state import scalar


class LossWeights(MutableMapping):
  """``learner.loss_weights``: a live view; ``lw["bc"] = 10.0`` writes the state."""

  def __init__(self, learner):
    self._learner = learner

  def __getitem__(self, name):
    return float(self._learner.state.loss_weights[name])

  def __setitem__(self, name, value):
    weights = self._learner.state.loss_weights
    if name not in weights:
      raise KeyError(f"no loss term {name!r}; terms are {sorted(weights)}")
    value = validators.nonnegative_float(value, f"loss_weights[{name!r}]")
    new = dict(weights, **{name: scalar(value, weights[name].dtype)})
    self._learner.state = self._learner.state.replace(loss_weights=new)

  def __delitem__(self, name):
    raise TypeError("loss terms cannot be removed through loss_weights; set the weight to 0")

  def __iter__(self):
    return iter(self._learner.state.loss_weights)

  def __len__(self):
    return len(self._learner.state.loss_weights)

  def __repr__(self):
    return repr(dict(self))
