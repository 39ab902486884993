"""Triggers answer ``next_due``; the loop runs to the nearest due step."""

import optax
import pytest

from opifex_fit import callbacks as cb
from opifex_fit.engine import plan
from opifex_fit.engine.triggers import Always, AnyOf, AtSteps, Every, EverySeconds
from support import make_learner, sine_data


def test_triggers_say_when_they_are_due_and_which_boundaries_they_need():
  assert [s for s in range(1, 11) if Every(5).due(s)] == [5, 10]
  assert Every(5).next_due(0) == 5 and Every(5).next_due(5) == 10 and Every(5).next_due(7) == 10
  assert Every(4, offset=2).next_due(2) == 6 and Every(4, offset=2).due(10)
  assert AtSteps(30, 10, 30).steps == (10, 30) and AtSteps(10, 30).next_due(10) == 30
  assert AtSteps(10).next_due(10) is None
  both = Every(100) | AtSteps(250)
  assert isinstance(both, AnyOf) and both.due(250) and both.due(300) and not both.due(260)
  assert both.next_due(200) == 250 and both.next_due(250) == 300 and both.period() == 100
  assert Always().due(7) and Always().next_due(7) is None
  with pytest.raises(ValueError, match="positive int"):
    Every(0)
  with pytest.raises(ValueError, match="positive int"):
    AtSteps(5, -1)
  with pytest.raises(ValueError, match="positive finite number of seconds; got -1"):
    EverySeconds(-1)
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


def test_wall_clock_trigger_is_due_once_its_period_elapsed_and_sets_no_boundary():
  now = [0.0]
  t = EverySeconds(60, clock=lambda: now[0])
  t.start(0)
  now[0] = 59.0
  assert not t.due(100) and t.next_due(100) is None
  now[0] = 61.0
  assert t.due(200) and t.due(200)   # asked twice at one boundary: the same answer
  now[0] = 100.0
  assert not t.due(300)              # 39 s since it was last due
  now[0] = 121.0
  assert t.due(400)


def test_chunks_run_to_the_nearest_due_step_capped():
  chunks = plan.ChunkPlan([Every(100), AtSteps(130)], target=300, cap=1000)
  assert list(chunks.lengths(0)) == [100, 30, 70, 100]
  assert list(plan.ChunkPlan([Every(7)], target=20, cap=5).lengths(0)) == [5, 2, 5, 2, 5, 1]
  assert plan.ChunkPlan([Every(7), EverySeconds(1)], target=20, cap=5).longest(0) == 5
  seen = {"every": [], "at": []}
  every = cb.LambdaCallback(on_step_end=lambda l: seen["every"].append(l.step), every=100)
  at = cb.LambdaCallback(on_step_end=lambda l: seen["at"].append(l.step))
  at.trigger = AtSteps(130)
  learner = make_learner()
  history = learner.fit(sine_data(), steps=300, callbacks=[every, at], verbose=0)
  assert seen == {"every": [100, 200, 300], "at": [130]}
  assert history.steps == [100, 130, 200, 300] and learner.trace_counts["chunk"] == 1


def test_checkpoint_every_seconds_saves_by_the_clock(tmp_path):
  ckpt = cb.Checkpoint(tmp_path / "ck", every=None, every_seconds=3600, async_save=False,
                       verbose=0)
  assert repr(ckpt.trigger) == "AnyOf(EverySeconds(3600))"
  make_learner().fit(sine_data(), steps=40, steps_per_execution=10, callbacks=[ckpt], verbose=0)
  assert sorted(int(p.name) for p in (tmp_path / "ck").iterdir() if p.name.isdigit()) == [40]
  learner = make_learner()
  learner.fit(sine_data(), steps=30, steps_per_execution=10, verbose=0,
              callbacks=[cb.Checkpoint(tmp_path / "b", every=None, every_seconds=1e-9,
                                       async_save=False, max_to_keep=None, verbose=0)])
  assert sorted(int(p.name) for p in (tmp_path / "b").iterdir() if p.name.isdigit()) == \
      [10, 20, 30]
  with pytest.raises(ValueError, match="every must be a positive int number of steps; got None"):
    cb.Checkpoint(tmp_path / "c", every=None)


def test_switch_optimizer_switches_exactly_at_a_step_an_explicit_chunk_does_not_divide():
  learner = make_learner()
  switch = cb.SwitchOptimizer(at_step=30, optimizer=optax.sgd(1e-3))
  steps = []
  probe = cb.LambdaCallback(on_step_end=lambda l: steps.append((l.step, switch.switched)),
                            order=60)
  learner.fit(sine_data(), steps=100, steps_per_execution=25, callbacks=[switch, probe], verbose=0)
  assert steps == [(25, False), (30, True), (55, True), (80, True), (100, True)]  # 25: a cap
