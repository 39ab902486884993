"""lr_scale and ReduceLROnPlateau through optax.chain (gradient clipping) and inject_hyperparams."""
import jax
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

LR, CLIP = 0.1, 1e-3   # the clip is far below the gradient norm: every step is clipped


@pytest.fixture
def data():
  x = np.random.default_rng(0).uniform(-1, 1, (64, 1)).astype(np.float32)
  return x, np.sin(3 * x) + 2.0


def learner_with(optimizer):
  return of.Learner(of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"), optimizer)


def flat(learner):
  leaves = jax.tree.leaves(jax.device_get(learner.state.params))
  return np.concatenate([np.ravel(a) for a in leaves])


ADAMS = {
    "chain(clip, adam)": lambda: optax.chain(optax.clip_by_global_norm(CLIP), optax.adam(LR)),
    "inject_hyperparams(adam)": lambda: optax.inject_hyperparams(optax.adam)(learning_rate=LR),
    "chain(clip, inject(adam))": lambda: optax.chain(
        optax.clip_by_global_norm(CLIP), optax.inject_hyperparams(optax.adam)(learning_rate=LR)),
}


@pytest.mark.parametrize("name", list(ADAMS))
def test_lr_scale_scales_the_whole_update(data, name):
  deltas = {}
  for scale in (1.0, 0.25):
    learner = learner_with(ADAMS[name]())
    w0 = flat(learner)
    learner.lr_scale = scale
    learner.fit(data, steps=1, verbose=0)
    deltas[scale] = flat(learner) - w0
  assert np.abs(deltas[1.0]).max() > 1e-3
  np.testing.assert_allclose(deltas[0.25], 0.25 * deltas[1.0], rtol=1e-5, atol=1e-9)


SGDS = {
    "chain(clip, sgd)": lambda: optax.chain(optax.clip_by_global_norm(CLIP), optax.sgd(LR)),
    "chain(clip, inject(sgd))": lambda: optax.chain(
        optax.clip_by_global_norm(CLIP), optax.inject_hyperparams(optax.sgd)(learning_rate=LR)),
}


@pytest.mark.parametrize("name", list(SGDS))
def test_reduce_lr_on_plateau_through_clipping(data, name):
  # Clipped SGD moves the weights by exactly LR * CLIP * lr_scale per step: the norm
  # of each step's update shows the scale the plateau callback set.
  learner = learner_with(SGDS[name]())
  weights = [flat(learner)]
  record = cb.LambdaCallback(on_step_end=lambda lrn: weights.append(flat(lrn)), every=1,
                             order=100)
  plateau = cb.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=1e9, every=10)
  h = learner.fit(data, steps=30, callbacks=[plateau, record], verbose=0)
  norms = np.linalg.norm(np.diff(np.array(weights), axis=0), axis=1)
  np.testing.assert_allclose(norms[:20], LR * CLIP, rtol=1e-4)        # steps 1..20: scale 1
  np.testing.assert_allclose(norms[20:], 0.5 * LR * CLIP, rtol=1e-4)  # cut at the step-20 check
  assert learner.lr_scale == 0.25 and h.lr_scale[h.steps.index(21)] == 0.5
  # The optimizer's own learning rate is untouched: the two compose.
  for s in jax.tree.leaves(learner.state.opt_state, is_leaf=lambda x: hasattr(x, "hyperparams")):
    if hasattr(s, "hyperparams"):
      assert float(s.hyperparams["learning_rate"]) == pytest.approx(LR)
  assert learner.trace_counts["chunk"] == 1


def test_the_logged_lr_is_the_schedule_value_times_lr_scale(data):
  # The guide's warmup + cosine decay, unchanged through optax.
  schedule = optax.warmup_cosine_decay_schedule(0.0, 1e-2, warmup_steps=10, decay_steps=100)
  learner = learner_with(optax.chain(optax.clip_by_global_norm(1.0),
                                     optax.inject_hyperparams(optax.adam)(learning_rate=schedule)))
  history = learner.fit(data, steps=40, verbose=0, steps_per_execution=10)
  # each boundary logs the rate of its chunk's last step (count = step - 1)
  np.testing.assert_allclose(history["lr"], [schedule(s - 1) for s in (10, 20, 30, 40)], rtol=1e-6)
  learner.lr_scale = 0.5
  history = learner.fit(data, steps=10, verbose=0, steps_per_execution=10)
  assert history["lr"][-1] == pytest.approx(0.5 * float(schedule(49)), rel=1e-6)
  # restarts: optax.sgdr_schedule (cosine with warm restarts) every 20 steps
  restarts = optax.sgdr_schedule([dict(init_value=0.0, peak_value=1e-2, warmup_steps=5,
                                       decay_steps=20, end_value=0.0)] * 3)
  learner = learner_with(optax.inject_hyperparams(optax.adam)(learning_rate=restarts))
  history = learner.fit(data, steps=40, verbose=0, steps_per_execution=5)
  np.testing.assert_allclose(history["lr"], [restarts(s - 1) for s in range(5, 45, 5)], rtol=1e-5)
  assert history["lr"][4] > history["lr"][3]  # step 25: the restart warms up again


def test_no_lr_is_logged_when_the_optimizer_hides_it(data):
  learner = learner_with(optax.adam(optax.linear_schedule(1e-2, 0.0, 100)))
  history = learner.fit(data, steps=10, verbose=0)
  with pytest.raises(AttributeError, match="no metric 'lr'"):
    history.lr  # noqa: B018 - the lookup is the test
