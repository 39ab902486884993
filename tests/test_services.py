"""The learner's services for callbacks (engine/services.py): compile, term losses,
term gradients, residuals; and the rule that callbacks use them."""
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of


def supervised_learner(seed=0):
  rng = np.random.default_rng(seed)
  x = rng.uniform(-1, 1, (32, 2)).astype(np.float32)
  y = np.sin(x[:, :1]) * x[:, 1:]
  model = of.models.MLP(2, [8, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, of.Supervised("mse"), optax.adam(1e-3)), (x, y)


def poisson_learner():
  problem = of.PDEProblem(lambda x, u, d: d["xx"] + 1.0, of.Interval("x", 0, 1),
                          conditions=[of.DirichletBC(0.0)])
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  return of.Learner(model, problem, optax.adam(1e-3)), problem


def hand_mse(model, x, y):
  return jnp.mean((model(x) - y) ** 2)


def test_compile_caches_counts_traces_and_follows_the_current_state():
  learner, (x, y) = supervised_learner()
  run = learner.compile("probe", lambda s, a: s.model(a))
  first = np.asarray(run(x))
  np.testing.assert_allclose(first, learner.predict(x), rtol=1e-6)
  again = learner.compile("probe", lambda s, a: s.model(a))  # a new fn: the cached one is used
  again(x)
  assert learner.trace_counts["probe"] == 1
  learner.fit((x, y), steps=5, verbose=0)  # the weights change; the compiled function follows
  np.testing.assert_allclose(run(x), learner.predict(x), rtol=1e-6)
  assert not np.allclose(run(x), first)
  assert learner.trace_counts["probe"] == 1
  learner.optimizer = optax.sgd(1e-2)  # functions of the state do not depend on the optimizer
  run(x)
  assert learner.trace_counts["probe"] == 1
  learner.add_loss_term("zero", lambda model, data: 0.0 * jnp.mean(model(data[0])))
  run(x)  # new loss terms clear the learner's jit cache: one retrace
  assert learner.trace_counts["probe"] == 2


def test_compile_keys_tell_apart_functions_of_one_name():
  learner, (x, _) = supervised_learner()
  one = learner.compile("f", lambda s, a: s.model(a), key=1)
  two = learner.compile("f", lambda s, a: 2 * s.model(a), key=2)
  np.testing.assert_allclose(two(x), 2 * one(x), rtol=1e-6)
  assert learner.trace_counts["f"] == 2


def test_compile_arguments_are_checked():
  learner, _ = supervised_learner()
  with pytest.raises(ValueError, match="name"):
    learner.compile("", lambda s: 0)
  with pytest.raises(TypeError, match="fn must be callable"):
    learner.compile("f", 3)
  with pytest.raises(TypeError, match="key must be hashable"):
    learner.compile("f", lambda s: 0, key=[1])


def test_hooked_term_losses_are_the_losses_the_step_trains_on():
  from opifex_fit import callbacks as cb
  from opifex_fit.engine.step_hooks import StepHook

  class Double(StepHook):
    name = "double"

    def init(self, learner):
      return jnp.asarray(2.0, jnp.float32)

    def loss_terms(self, hs, model, batch, terms_fn):
      return {k: hs * v for k, v in terms_fn(model, batch).items()}, hs

  class Doubles(cb.Callback):
    def step_hook(self, learner):
      return Double()

  learner, (x, y) = supervised_learner()
  learner.fit((x, y), steps=2, callbacks=[Doubles()], verbose=0)
  hooked = learner.compile("hooked", lambda s, d: s.term_losses(d, hooked=True)["data"],
                           hooked=True)
  np.testing.assert_allclose(hooked(learner.data), 2 * hand_mse(learner.model, x, y), rtol=1e-5)
  plain = learner.compile("plain", lambda s, d: s.term_losses(d, hooked=True)["data"])
  with pytest.raises(ValueError, match=r"needs a function compiled with .*hooked=True"):
    plain(learner.data)
  with pytest.raises(TypeError, match="hooked must be a bool; got 'yes'"):
    learner.compile("f", lambda s: 0, hooked="yes")


def test_point_weights_are_the_plain_mean_unless_a_hook_reweights_the_term():
  from opifex_fit.engine.step_hooks import StepHook, point_weights

  class Halves(StepHook):
    name = "halves"

    def point_weights(self, hs, model, term, points, mask):
      return None if term != "pde" else jnp.full(points.shape[:1], 0.5)

  points, mask = jnp.zeros((4, 1)), jnp.array([1.0, 1.0, 0.0, 1.0])
  plain = point_weights((StepHook(),), {"hook": ()}, None, "pde", points, mask)
  np.testing.assert_allclose(plain, [1 / 3, 1 / 3, 0, 1 / 3])
  np.testing.assert_allclose(point_weights((Halves(),), {"halves": ()}, None, "pde", points),
                             0.5)
  np.testing.assert_allclose(point_weights((Halves(),), {"halves": ()}, None, "bc", points), 0.25)
  other = type("Other", (Halves,), {"name": "other"})()
  with pytest.raises(ValueError, match=r"\['halves', 'other'\] all reweight the points of 'pde'"):
    point_weights((Halves(), other), {"halves": (), "other": ()}, None, "pde", points)
  learner, _ = supervised_learner()
  plain_fn = learner.compile("weights", lambda s, p: s.point_weights("data", p))
  with pytest.raises(ValueError, match=r"needs a function compiled with .*hooked=True"):
    plain_fn(points)


def test_term_losses_equal_the_hand_loss():
  learner, (x, y) = supervised_learner()
  losses = learner.term_losses(data=(x, y))
  assert set(losses) == {"data"}
  np.testing.assert_allclose(losses["data"], hand_mse(learner.model, x, y), rtol=1e-5)
  with pytest.raises(ValueError, match="no training data"):
    learner.term_losses()
  learner.fit((x, y), steps=1, verbose=0)  # now the training data is the default
  np.testing.assert_allclose(learner.term_losses()["data"], hand_mse(learner.model, x, y),
                             rtol=1e-5)
  with pytest.raises(ValueError, match="terms must be"):
    learner.term_losses(terms=["pde"])


def test_term_gradients_equal_jax_grad_of_the_hand_loss():
  learner, (x, y) = supervised_learner()
  learner.fit((x, y), steps=1, verbose=0)
  losses, grads = learner.term_gradients()
  graphdef, params = nnx.split(learner.model, nnx.Param)
  expected = jax.grad(lambda p: hand_mse(nnx.merge(graphdef, p), x, y))(params)
  np.testing.assert_allclose(losses, [hand_mse(learner.model, x, y)], rtol=1e-5)
  for g, e in zip(grads, jax.tree.leaves(expected)):
    assert g.shape == (1, *e.shape)
    np.testing.assert_allclose(g[0], e, rtol=1e-4, atol=1e-7)
  _, last = learner.term_gradients(select=[len(jax.tree.leaves(params)) - 1])
  assert len(last) == 1
  np.testing.assert_allclose(last[0][0], jax.tree.leaves(expected)[-1], rtol=1e-4, atol=1e-7)
  with pytest.raises(ValueError, match="select"):
    learner.term_gradients(select=[99])


def test_residuals_equal_the_problems_pointwise_residuals():
  learner, problem = poisson_learner()
  points = jnp.linspace(0, 1, 11)[:, None]
  expected = problem.pointwise_residuals(learner.model, "pde", points)
  np.testing.assert_allclose(learner.residuals("pde", points), expected, rtol=1e-5, atol=1e-6)
  # In chunks of 4 points (lax.map over single points): the same values.
  np.testing.assert_allclose(learner.residuals("pde", points, chunk_size=4), expected,
                             rtol=1e-5, atol=1e-6)
  bc = jnp.array([[0.0], [1.0]])
  np.testing.assert_allclose(learner.residuals("bc", bc),
                             problem.pointwise_residuals(learner.model, "bc", bc), rtol=1e-6)
  with pytest.raises(ValueError, match="term must be one of"):
    learner.residuals("nope", points)
  supervised, _ = supervised_learner()
  with pytest.raises(TypeError, match="pointwise_residuals"):
    supervised.residuals("data", points)


def test_eval_mode_switches_dropout_off():
  model = nnx.Sequential(nnx.Linear(2, 64, rngs=nnx.Rngs(0)), nnx.Dropout(0.5, rngs=nnx.Rngs(1)))
  learner = of.Learner(model, of.Supervised())
  x = np.ones((4, 2), np.float32)
  evaluated = learner.compile("eval_probe", lambda s, a: s.model(a), eval_mode=True)(x)
  trained = learner.compile("train_probe", lambda s, a: s.model(a))(x)
  np.testing.assert_allclose(evaluated, learner.predict(x), rtol=1e-6)
  assert np.any(np.asarray(trained) == 0) and not np.allclose(trained, evaluated)


# Callbacks reach the model only through these services (issue 12): no
# callback rebuilds it from a graphdef, places arrays or keeps its own jit cache.
FORBIDDEN = re.compile(r"graphdef|_placement|placement_of|_jit_cache|_cached|modes\.merge")


def test_no_callback_touches_the_learners_internals():
  root = pathlib.Path(of.__file__).parent / "callbacks"
  offenders = [f"{path.name}:{i}: {line.strip()}"
               for path in sorted(root.glob("*.py"))
               for i, line in enumerate(path.read_text().splitlines(), 1) if FORBIDDEN.search(line)]
  assert not offenders, "callbacks must use learner.compile & co.:\n" + "\n".join(offenders)
