"""opifex_fit.engine.snapshots: structure-aware snapshots and partial restore (issue 12, H2)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
from support import make_learner

from opifex_fit.engine import snapshots


def test_an_optimizer_of_the_same_structure_still_makes_the_snapshot_stale():
  learner = make_learner()
  snap = snapshots.take(learner)
  assert snapshots.stale_fields(snap, learner) == ()
  learner.optimizer = optax.adam(1e-2)  # same opt_state structure, other optimizer
  assert snapshots.stale_fields(snap, learner) == ("opt_state",)


def test_restore_puts_back_only_what_still_fits():
  learner = make_learner()
  snap = snapshots.take(learner)
  old = jax.device_get(learner.state.params)
  learner.state = learner.state.replace(
      params=jax.tree.map(lambda p: p + 1.0, learner.state.params), step=jnp.int32(7))
  learner.add_loss_term("extra", lambda model, data: jnp.float32(0.0), weight=3.0)
  learner.optimizer = optax.sgd(0.1)
  stale = snapshots.restore(learner, snap, keep=("step",))
  assert set(stale) == {"loss_weights", "opt_state"}
  for u, v in zip(jax.tree.leaves(learner.state.params), jax.tree.leaves(old), strict=True):
    np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
  assert int(learner.state.step) == 7                      # kept
  assert float(learner.state.loss_weights["extra"]) == 3.0  # stale: the current value
  fresh = learner.optimizer.init(learner.state.params)      # stale: a fresh SGD state
  assert jax.tree.structure(learner.state.opt_state) == jax.tree.structure(fresh)
