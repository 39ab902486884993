"""Step hooks: in-step callback code carried in TrainState.hooks."""

import math

import jax.numpy as jnp
import optax
import pytest

from opifex_fit import callbacks as cb
from opifex_fit.engine.step_hooks import StepHook
from support import make_learner, sine_data


class CountSteps(StepHook):
  name = "count"

  def init(self, learner):
    return {"n": jnp.zeros((), jnp.int32), "scale": jnp.ones((), jnp.float32)}

  def loss_terms(self, hs, model, batch, terms_fn):
    terms = terms_fn(model, batch)
    return {k: v * hs["scale"] for k, v in terms.items()}, hs

  def after_update(self, hs, info):
    return dict(hs, n=hs["n"] + 1)

  def logs(self, hs):
    return {"counted": hs["n"]}


class Counter(cb.Callback):
  def __init__(self, name="count"):
    self.hook = CountSteps()
    self.hook.name = name

  def step_hook(self, learner):
    return self.hook

  def log_names(self, learner):
    return ("counted",)


def test_hook_state_is_carried_through_chunks_and_fits_without_recompiling():
  learner, counter = make_learner(), Counter()
  learner.fit(sine_data(), steps=30, callbacks=[counter], verbose=0, steps_per_execution=10)
  assert learner.history["counted"] == [10.0, 20.0, 30.0]
  learner.fit(sine_data(), steps=20, callbacks=[counter], verbose=0, steps_per_execution=10)
  assert learner.history["counted"][-1] == 50.0
  assert learner.trace_counts["chunk"] == 1


def test_a_written_hook_state_changes_the_loss_and_does_not_recompile():
  learner, counter = make_learner(), Counter()
  learner.optimizer = optax.sgd(0.1)  # no momentum: a zero loss moves nothing
  learner.fit(sine_data(), steps=10, callbacks=[counter], verbose=0)
  plain = learner.evaluate(sine_data())["loss"]
  learner.set_hook_state("count", {"n": 0, "scale": 0.0})  # numbers take the old dtypes
  learner.fit(sine_data(), steps=10, callbacks=[counter], verbose=0)
  assert learner.history["loss"][-1] == 0.0          # the hook's scale zeroes the training loss
  assert learner.evaluate(sine_data())["loss"] == pytest.approx(plain)  # zero loss: no update
  assert learner.history["counted"][-1] == 10.0
  assert learner.trace_counts["chunk"] == 1


def test_bad_hook_states_and_duplicate_hooks_are_refused():
  learner = make_learner()
  learner.fit(sine_data(), steps=5, callbacks=[Counter()], verbose=0)
  with pytest.raises(ValueError, match="must keep shape"):
    learner.set_hook_state("count", {"n": jnp.zeros((2,), jnp.int32), "scale": 1.0})
  with pytest.raises(KeyError, match="no step hook 'nope'"):
    learner.hook_state("nope")
  with pytest.raises(ValueError, match="step hook name 'count'"):
    learner.fit(sine_data(), steps=5, callbacks=[Counter(), Counter()], verbose=0)


def test_a_fit_without_the_hook_drops_its_state():
  learner = make_learner()
  learner.fit(sine_data(), steps=5, callbacks=[Counter()], verbose=0)
  learner.fit(sine_data(), steps=5, verbose=0)
  assert learner.state.hooks == {}
  assert math.isnan(learner.history["counted"][-1])  # no value in the last record
