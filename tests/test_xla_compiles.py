"""The chunk is compiled by XLA once per fit, not only traced once: inputs
that change placement or committedness (e.g. state copies) would recompile
it silently, which ``trace_counts`` cannot see."""

import logging

import jax
import numpy as np
import optax
from flax import nnx

import opifex_fit as of


def xla_compiles(caplog, fn, name="run_chunk") -> int:
  previous = jax.config.jax_log_compiles
  jax.config.update("jax_log_compiles", True)
  try:
    with caplog.at_level(logging.WARNING, logger="jax._src.dispatch"):
      caplog.clear()
      fn()
  finally:
    jax.config.update("jax_log_compiles", previous)
  return sum(f"Finished XLA compilation of jit({name})" in r.getMessage() for r in caplog.records)


def test_supervised_chunk_compiles_once(caplog):
  x = np.random.default_rng(0).uniform(-1, 1, (256, 2)).astype(np.float32)
  learner = of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), of.Supervised("mse"),
                       optax.adam(1e-3))
  fit = lambda: learner.fit((x, x[:, :1]), epochs=10, batch_size=128, verbose=0,
                            steps_per_execution=4)
  assert xla_compiles(caplog, fit) == 1
  assert xla_compiles(caplog, fit) == 0  # a second fit reuses it


def test_pde_chunk_compiles_once(caplog):
  problem = of.PDEProblem(lambda x, u, d: d["xx"] + d["yy"], of.Box({"x": (0, 1), "y": (0, 1)}),
                          [of.DirichletBC(0.0)])
  learner = of.Learner(of.models.MLP(2, [8, 1], rngs=nnx.Rngs(0)), problem, optax.adam(1e-3))
  data = problem.sample(64, 16)
  assert xla_compiles(caplog, lambda: learner.fit(data, steps=20, verbose=0,
                                                  steps_per_execution=5)) == 1


def test_a_weakly_typed_parameter_does_not_recompile(caplog):
  class Scaled(nnx.Module):
    def __init__(self, rngs):
      self.net = of.models.MLP(2, [8, 1], rngs=rngs)
      self.scale = nnx.Param(jax.numpy.asarray(1.0))  # weakly typed

    def __call__(self, x):
      return self.scale[...] * self.net(x)

  x = np.random.default_rng(0).uniform(-1, 1, (64, 2)).astype(np.float32)
  learner = of.Learner(Scaled(nnx.Rngs(0)), of.Supervised("mse"), optax.adam(1e-3))
  fit = lambda: learner.fit((x, x[:, :1]), steps=20, verbose=0, steps_per_execution=5)
  assert xla_compiles(caplog, fit) == 1
  assert learner.trace_counts["chunk"] == 1
