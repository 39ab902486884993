"""cb.Multilevel: function-preserving level switches, one recompile each, exact resume."""
import jax
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

X = np.linspace(-1, 1, 128, dtype=np.float32)[:, None]
DATA = (X, np.sin(3 * X))


def mlp_learner():
  return of.Learner(of.models.MLP(1, [8, 8, 1], rngs=nnx.Rngs(0)), of.Supervised(),
                    optax.adam(3e-3), seed=1)


def fno_learner():
  model = of.models.FNO(1, 1, modes=(2,), width=6, n_layers=2, projection_features=8,
                        rngs=nnx.Rngs(0))
  return of.Learner(model, of.Supervised(), optax.adam(3e-3), seed=1)


def fno_data(n_grid=33):
  rng = np.random.default_rng(0)
  t = np.linspace(0, 1, n_grid, dtype=np.float32)
  a = rng.normal(size=(8, 3)).astype(np.float32)
  u = sum(a[:, k:k + 1] * np.sin((k + 1) * np.pi * t) for k in range(3))[..., None]
  return u, np.cumsum(u, axis=1) / n_grid


def around_switches(every, probe):
  """Callbacks recording ``probe(learner)`` just before and just after Multilevel (order 49)."""
  before, after = {}, {}
  return before, after, [
      cb.LambdaCallback(on_step_end=lambda l: before.setdefault(l.step, probe(l)), every=every,
                        order=48),
      cb.LambdaCallback(on_step_end=lambda l: after.setdefault(l.step, probe(l)), every=every,
                        order=50)]


def params(learner):
  return jax.device_get(jax.tree.leaves((learner.state.params, learner.state.opt_state,
                                         jax.random.key_data(learner.state.rng))))


def test_mlp_levels_keep_the_function_and_recompile_once_each():
  learner = mlp_learner()
  multilevel = cb.Multilevel(levels=[50, 100], width_factor=2, extra_layers=1)
  before, after, probes = around_switches(50, lambda l: np.asarray(l.predict(X)))
  history = learner.fit(DATA, steps=150, callbacks=[multilevel, *probes], verbose=0)
  assert multilevel.level == 2 and multilevel.switch_steps == [50, 100]
  assert [layer.out_features for layer in learner.model.layers] == [32, 32, 32, 32, 1]
  assert learner.model.residual == (False, False, True, True)
  assert learner.trace_counts["chunk"] == 3          # one compilation per level
  for step in (50, 100):                             # the switch leaves the function unchanged
    np.testing.assert_allclose(after[step], before[step], atol=1e-6, rtol=0)
  assert not np.allclose(before[100], before[50], atol=1e-3)  # ... and training goes on
  assert history["loss"][-1] < history["loss"][0]
  learner.fit(DATA, steps=50, callbacks=[multilevel], verbose=0)
  assert multilevel.level == 2 and learner.trace_counts["chunk"] == 3   # no growth, no recompile


def test_fno_levels_grow_modes_on_coarse_to_fine_grids():
  learner, data = fno_learner(), fno_data()
  multilevel = cb.Multilevel(levels=[20, 40], modes_factor=2, coarsening_factor=2)
  full = data[0][:4]
  before, after, probes = around_switches(
      20, lambda l: (np.asarray(l.predict(full)), l.data[0].shape[1], l.model.modes))
  learner.fit(data, steps=60, callbacks=[multilevel, *probes], verbose=0)
  assert learner.model.modes == (8,) and learner.trace_counts["chunk"] == 3
  assert [before[s][1:] for s in (20, 40, 60)] == [(9, (2,)), (17, (4,)), (33, (8,))]
  assert [after[s][1:] for s in (20, 40)] == [(17, (4,)), (33, (8,))]
  for step in (20, 40):    # on the full grid the grown FNO is the same function
    np.testing.assert_allclose(after[step][0], before[step][0], atol=1e-6, rtol=0)
  assert learner.data[0].shape == (8, 33, 1)


@pytest.mark.parametrize("kind", ["mlp", "fno"])
def test_resume_across_a_level_switch_is_bit_exact(tmp_path, kind):
  def run(steps, directory):
    if kind == "mlp":
      learner, data, ml = mlp_learner(), DATA, cb.Multilevel([50, 100], width_factor=2)
    else:
      learner, data = fno_learner(), fno_data()
      ml = cb.Multilevel([50, 100], coarsening_factor=2)
    saving = [] if directory is None else [
        cb.Checkpoint(directory, every=25, async_save=False, verbose=0)]
    learner.fit(data, steps=steps, verbose=0, steps_per_execution=25, callbacks=[ml, *saving])
    return learner, ml

  straight, _ = run(150, None)                       # the reference writes no checkpoints
  stopped, ml = run(75, tmp_path / "b")              # stops at level 1, after the first switch
  assert ml.level == 1 and stopped.step == 75
  resumed, ml = run(150, tmp_path / "b")             # a fresh learner, built at the coarsest level
  assert ml.level == 2 and resumed.step == 150
  assert resumed.trace_counts["chunk"] == 2          # the resumed level, then the last switch
  for a, b in zip(params(straight), params(resumed), strict=True):
    np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused_before_anything_compiles():
  with pytest.raises(ValueError, match="levels must be a non-empty increasing sequence.*got 3"):
    cb.Multilevel(3)
  with pytest.raises(ValueError, match=r"strictly increasing steps; got \[100, 50\]"):
    cb.Multilevel([100, 50])
  with pytest.raises(ValueError, match=r"levels\[0\] must be a positive int step; got 0"):
    cb.Multilevel([0, 10])
  with pytest.raises(ValueError, match="width_factor must be a number >= 1; got 0.5"):
    cb.Multilevel([10], width_factor=0.5)
  with pytest.raises(ValueError, match="coarsening_factor must be an int >= 1; got 1.5"):
    cb.Multilevel([10], coarsening_factor=1.5)
  with pytest.raises(TypeError, match="grow must be None or a callable"):
    cb.Multilevel([10], grow="wider")
  learner = of.Learner(nnx.Linear(1, 1, rngs=nnx.Rngs(0)), of.Supervised())
  with pytest.raises(TypeError, match="no built-in growth for a Linear"):
    learner.fit(DATA, steps=20, callbacks=[cb.Multilevel([10])], verbose=0)
  learner = fno_learner()
  with pytest.raises(ValueError, match=r"axis 1 of the data \(size 32\) by 4; expected n - 1"):
    learner.fit(fno_data(32), steps=20, callbacks=[cb.Multilevel([5, 10], coarsening_factor=2)],
                verbose=0)
  with pytest.raises(ValueError, match=r"cannot hold modes\[0\]=8"):
    learner.fit(fno_data(17), steps=20, verbose=0,
                callbacks=[cb.Multilevel([5, 10], modes_factor=4, coarsening_factor=2)])
  with pytest.raises(ValueError, match="restore_best_weights=True"):
    mlp_learner().fit(DATA, steps=20, verbose=0, callbacks=[
        cb.Multilevel([10]), cb.EarlyStopping("loss", patience=2, restore_best_weights=True)])
  assert "chunk" not in learner.trace_counts


def test_replace_model_swaps_the_trained_model_and_recompiles_once():
  learner = mlp_learner()
  learner.fit(DATA, steps=20, verbose=0)
  wide = of.models.grow_mlp(learner.model, 2, rngs=nnx.Rngs(5))
  step, rng = learner.step, np.asarray(jax.random.key_data(learner.state.rng))
  learner.replace_model(wide)
  assert learner.model is wide and learner.step == step
  np.testing.assert_array_equal(jax.random.key_data(learner.state.rng), rng)
  learner.fit(DATA, steps=20, verbose=0)
  assert learner.trace_counts["chunk"] == 2 and learner.model.layers[0].out_features == 16
  with pytest.raises(TypeError, match="model must be a flax.nnx.Module; got str"):
    learner.replace_model("wider")
