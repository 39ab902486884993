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
