"""Cadences as trigger objects the loop plans chunk boundaries from."""

import optax
import pytest

from opifex_fit import callbacks as cb
from opifex_fit.engine import plan
from opifex_fit.engine.triggers import Always, AnyOf, AtSteps, Boundaries, Every
from support import make_learner, sine_data


def test_triggers_say_when_they_are_due_and_which_boundaries_they_need():
  assert [s for s in range(1, 11) if Every(5).due(s)] == [5, 10]
  assert Every(5).boundaries() == Boundaries(cadences=(5,))
  assert AtSteps(30, 10, 30).steps == (10, 30) and AtSteps(10).boundaries().points == (10,)
  both = Every(100) | AtSteps(250)
  assert isinstance(both, AnyOf) and both.due(250) and both.due(300) and not both.due(260)
  assert both.boundaries() == Boundaries(cadences=(100,), points=(250,))
  assert Always().due(7) and Always().boundaries() == Boundaries()
  with pytest.raises(ValueError, match="positive int"):
    Every(0)
  with pytest.raises(ValueError, match="positive int"):
    AtSteps(5, -1)
  with pytest.raises(TypeError, match="Trigger objects"):
    AnyOf(5)


def test_callback_trigger_defaults_to_every_and_can_be_set():
  class Plain(cb.Callback):
    every = 20
  c = Plain()
  assert repr(c.trigger) == "Every(20)" and c.is_due(40) and not c.is_due(50)
  c.trigger = AtSteps(50)
  assert c.is_due(50) and not c.is_due(40)
  assert repr(cb.Callback().trigger) == "Always()"
  with pytest.raises(TypeError, match="must be an opifex_fit.engine.triggers.Trigger"):
    c.trigger = 5


def test_points_are_chunk_boundaries_even_off_the_chunk_length():
  assert plan.chunk_length_for([100], [130], 300, "auto") == 100   # gcd 10 would be 10x shorter
  assert list(plan.chunk_plan(0, 100, 300, (130,))) == [100, 30, 70, 100]
  assert plan.chunk_length_for([20], [50], 100, "auto") == 10      # close enough: K divides it
  seen = {"every": [], "at": []}
  every = cb.LambdaCallback(on_step_end=lambda l: seen["every"].append(l.step), every=100)
  at = cb.LambdaCallback(on_step_end=lambda l: seen["at"].append(l.step))
  at.trigger = AtSteps(130)
  make_learner().fit(sine_data(), steps=300, callbacks=[every, at], verbose=0)
  assert seen == {"every": [100, 200, 300], "at": [130]}


def test_switch_optimizer_switches_exactly_at_a_step_an_explicit_chunk_does_not_divide():
  learner = make_learner()
  switch = cb.SwitchOptimizer(at_step=30, optimizer=optax.sgd(1e-3))
  steps = []
  probe = cb.LambdaCallback(on_step_end=lambda l: steps.append((l.step, switch.switched)),
                            order=60)
  learner.fit(sine_data(), steps=100, steps_per_execution=25, callbacks=[switch, probe], verbose=0)
  assert steps == [(25, False), (30, True), (50, True), (75, True), (100, True)]
