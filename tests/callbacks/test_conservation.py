"""cb.Conservation: quadrature of conserved quantities, drift, and the three actions."""
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import opifex_fit as of
from opifex_fit import callbacks as cb

SPACE_TIME = of.Box({"x": (0, 2), "t": (0, 1)})


def advecting(x):
  """The exact solution of u_t + u_x / 2 = 0, periodic on [0, 2]: 2 + sin(pi (x - t / 2))."""
  return 2 + jnp.sin(jnp.pi * (x[:, :1] - 0.5 * x[:, 1:]))


def growing(x):
  """Not conservative: (1 + t)(2 + sin(pi x))."""
  return (1 + x[:, 1:]) * (2 + jnp.sin(jnp.pi * x[:, :1]))


@pytest.mark.parametrize("quadrature", ["gauss", "trapezoid"])
def test_exact_periodic_advection_conserves_mass_and_energy(quadrature):
  check = cb.Conservation(["mass", "energy"], n_grid=32, times=6, quadrature=quadrature)
  q = check.quantities(advecting, SPACE_TIME)
  # mass = int_0^2 (2 + sin) = 4; energy = int_0^2 (4 + 4 sin + sin^2) = 8 + 0 + 1 = 9.
  np.testing.assert_allclose(q["mass"][:, 0], 4.0, rtol=1e-5)
  np.testing.assert_allclose(q["energy"][:, 0], 9.0, rtol=1e-5)
  drifts = check.drifts(advecting, SPACE_TIME)
  assert drifts["mass"] < 1e-5 and drifts["energy"] < 1e-5


def test_a_non_conservative_field_drifts_by_the_hand_computed_amount():
  check = cb.Conservation(["mass", "energy"], n_grid=32, times=[0.0, 0.5, 1.0])
  # Q(t) = (1 + t) * 4 and (1 + t)^2 * 9: the largest change is at t = 1.
  drifts = check.drifts(growing, SPACE_TIME)
  assert drifts["mass"] == pytest.approx((8 - 4) / 4, rel=1e-5)
  assert drifts["energy"] == pytest.approx((36 - 9) / 9, rel=1e-5)


def test_two_space_dimensions_vector_fields_and_custom_laws():
  box = of.Box({"x": (0, 1), "y": (0, 2), "t": (0, 1)})

  def field(p):  # (rho, v1, v2) = (x y + t, 1, t)
    x, y, t = p[:, 0], p[:, 1], p[:, 2]
    return jnp.stack([x * y + t, jnp.ones_like(t), t], axis=1)

  def peak(model, x):  # a custom law without weights: max of rho on the grid
    return jnp.max(model(x)[:, 0])

  def rho_cubed(model, x, w):  # a custom law with the quadrature weights
    return w @ model(x)[:, 0] ** 3

  check = cb.Conservation({"mass": "mass", "momentum": "momentum", "peak": peak,
                           "cubed": rho_cubed}, fields={"mass": 0, "momentum": [1, 2]},
                          n_grid=(8, 10), times=[0.0, 1.0])
  q = check.quantities(field, box)
  # int int x y = 1/2 * 2 = 1 over [0,1]x[0,2] (area 2): mass(t) = 1 + 2 t.
  np.testing.assert_allclose(q["mass"][:, 0], [1.0, 3.0], rtol=1e-5)
  np.testing.assert_allclose(q["momentum"], [[2.0, 0.0], [2.0, 2.0]], rtol=1e-5, atol=1e-6)
  # Gauss nodes stop short of the corner (1, 2): the max of x y is a bit below 2.
  assert 1.8 < q["peak"][0, 0] < 2.0 and q["peak"][1, 0] == pytest.approx(q["peak"][0, 0] + 1)
  # int int (x y)^3 = 1/4 * 16/4 = 1 at t = 0.
  assert q["cubed"][0, 0] == pytest.approx(1.0, rel=1e-5)
  d = check.drifts(field, box)
  assert d["mass"] == pytest.approx(2.0, rel=1e-5)
  assert d["momentum"] == pytest.approx(2.0 / 2.0, rel=1e-5)  # |(0, 2)| / |(2, 0)|


def advection(seed=0, lr=2e-3):
  problem = of.PDEProblem(
      lambda x, u, d: d["t"] + 0.5 * d["x"], SPACE_TIME,
      conditions=[of.PeriodicBC("x"), of.InitialCondition(lambda x: 2 + jnp.sin(jnp.pi * x[0]))])
  model = of.models.MLP(2, [16, 16, 1], rngs=nnx.Rngs(seed))
  return of.Learner(model, problem, optax.adam(lr), seed=seed), problem


def test_log_and_stop_actions_in_a_fit(capsys):
  learner, problem = advection()
  data = problem.sample(128, 16, 16)
  check = cb.Conservation("mass", every=10, n_grid=16, times=5)
  learner.fit(data, steps=20, verbose=0, callbacks=[check])
  logged = learner.history["conservation_mass"]
  assert learner.history.steps == [10, 20] and all(v > 0 for v in logged)
  # The logged value is the drift of the current weights.
  assert logged[-1] == pytest.approx(check.drifts(learner.model, SPACE_TIME)["mass"], rel=1e-5)
  stop = cb.Conservation("mass", tolerance=1e-9, every=10, action="stop", n_grid=16)
  learner.fit(data, steps=100, verbose=0, callbacks=[stop])
  assert learner.step == 30
  assert "mass drift" in capsys.readouterr().out
  assert learner.trace_counts["conservation"] == 2  # one function per callback


def test_the_penalty_term_is_the_squared_drift_and_reduces_it():
  learner, problem = advection(lr=1e-2)
  data = problem.sample(128, 16, 16)
  pen = cb.Conservation("mass", every=100, action="penalty", weight=100.0, n_grid=16, times=5)
  before = pen.drifts(learner.model, SPACE_TIME)["mass"]
  learner.fit(data, steps=200, verbose=0, callbacks=[pen])
  assert learner.loss_weights["conservation_mass"] == 100.0
  drift = learner.history["conservation_mass"][-1]
  assert learner.evaluate(data)["conservation_mass_loss"] == pytest.approx(drift ** 2, rel=1e-4)
  assert drift < before / 5
  assert learner.history["skipped_updates"][-1] == 0  # the penalty's gradient is finite


def test_conservation_refuses_bad_options():
  with pytest.raises(ValueError, match=r"unknown conservation law 'charge'; built-ins are"):
    cb.Conservation("charge")
  with pytest.raises(ValueError, match=r"action='stop' needs a tolerance"):
    cb.Conservation("mass", action="stop")
  with pytest.raises(ValueError, match=r"action must be one of .* got 'warn'"):
    cb.Conservation("mass", action="warn")
  with pytest.raises(ValueError, match=r"every must be a positive int .* got 0"):
    cb.Conservation("mass", every=0)
  with pytest.raises(ValueError, match=r"fields has 'energy', which is not a built-in law"):
    cb.Conservation("mass", fields={"energy": 0})
  with pytest.raises(ValueError, match=r"times must be .* in \[0, 1\]; got \[0.0, 2.0\]"):
    cb.Conservation("mass", times=[0.0, 2.0]).drifts(advecting, SPACE_TIME)
  with pytest.raises(ValueError, match=r"needs a domain with a time coordinate 't'"):
    cb.Conservation("mass").drifts(advecting, of.Box({"x": (0, 1), "y": (0, 1)}))
  learner, problem = advection()
  with pytest.raises(ValueError, match=r"fields\['mass'\]=\[3\] but the model has 1 output"):
    learner.fit(problem.sample(64, 8, 8), steps=10, verbose=0,
                callbacks=[cb.Conservation("mass", fields={"mass": 3}, every=10)])
  assert "chunk" not in learner.trace_counts
