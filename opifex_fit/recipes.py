"""Training recipes that span several fits: the published protocols, as helpers.

``resampling_rounds`` is the protocol of Wu, Zhu, Tan, Kartha, Lu 2023
(CMAME 403, "A comprehensive study of non-adaptive and residual-based adaptive
sampling for physics-informed neural networks"; lu-group/pinn-sampling)::

  Adam (first_adam_steps); L-BFGS (lbfgs_steps)
  repeat rounds times:
    resample (RAD, RAR-D, or uniform: RAD(k=0))
    Adam (adam_steps, fresh state); L-BFGS (lbfgs_steps, fresh state)

Every phase starts from fresh optimizer state, as DeepXDE's ``compile`` does:
in particular the L-BFGS curvature memory is never carried across a
resample, where the loss landscape changes. Each optimizer's chunk compiles
once; later rounds reuse it (``Learner.optimizer`` keys its compiled chunk by
optimizer object). Chunks end on multiples of their length, so phases whose
lengths are multiples of one number (the paper's 15000 and 1000) use one
chunk length; others add a compile per distinct partial chunk.

Example:
  >>> import jax.numpy as jnp, optax
  >>> from flax import nnx
  >>> import opifex_fit as of
  >>> from opifex_fit import callbacks as cb
  >>> problem = of.PDEProblem(lambda x, u, d: d["xx"] + 1.0, of.Interval("x", 0.0, 1.0),
  ...                         output_transform=lambda x, u: x[0] * (1 - x[0]) * u)
  >>> learner = of.Learner(of.models.MLP(1, [16, 1], rngs=nnx.Rngs(0)), problem)
  >>> rounds = of.recipes.resampling_rounds(
  ...     learner, problem.sample(64), resampler=cb.RAD(every=1, pool_size=256),
  ...     rounds=3, adam_steps=20, lbfgs_steps=20)
  >>> [r["round"] for r in rounds], learner.trace_counts["chunk"]   # one chunk per optimizer
  ([0, 1, 2, 3], 2)
"""

from __future__ import annotations

from collections.abc import Callable

import optax

from opifex_fit import validators

DEEPXDE_LBFGS_MEMORY = 100  # DeepXDE's set_LBFGS_options(maxcor=100), the paper's optimizer


def resampling_rounds(learner, data=None, *, resampler=None, rounds: int, adam_steps: int = 1000,
                      lbfgs_steps: int = 1000, first_adam_steps: int | None = None,
                      adam: optax.GradientTransformation | None = None,
                      lbfgs: optax.GradientTransformation | None = None, callbacks=(),
                      on_round_end: Callable | None = None, verbose: int = 0) -> list[dict]:
  """Runs Wu et al.'s rounds of [resample; Adam; L-BFGS] (see the module docstring).

  Args:
    learner: an ``of.Learner`` on a ``PDEProblem``.
    data: the first training points (default: the problem's default sample).
    resampler: ``cb.RAD(...)`` or ``cb.RARD(...)`` (its ``every`` is not
      used: it resamples once per round, through its ``resample`` method), or
      None for fixed points (the paper's "uniform").
    rounds: the number of resampling rounds (the paper: 100).
    adam_steps, lbfgs_steps: steps of each phase of a round (the paper: 1000 each).
    first_adam_steps: the first Adam phase (default ``adam_steps``; the paper: 15000).
    adam, lbfgs: the optimizers (default ``optax.adam(1e-3)`` and
      ``optax.lbfgs(memory_size=100)``: DeepXDE's L-BFGS keeps 100 curvature
      pairs (``maxcor=100``), and optax's default of 10 reaches a 20x higher
      loss in 1000 Burgers steps; with 100 it matches DeepXDE's scipy
      L-BFGS-B from the same weights, 2x faster:
      ``benchmarks/peers/scipy_lbfgs_burgers.py``).
    callbacks: callbacks passed to every fit (loggers, ``ReferenceSolution``).
    on_round_end: ``on_round_end(round, learner)`` after each round (round 0 is
      the first Adam + L-BFGS), e.g. to print the error every 10 rounds.
    verbose: passed to every fit.

  Returns:
    One record per round: ``{"round", "step", "loss"}`` (the last fit's loss).
  """
  rounds = validators.positive_int(rounds, "rounds", allow_none=False)
  adam_steps = validators.positive_int(adam_steps, "adam_steps", allow_none=False)
  lbfgs_steps = 0 if lbfgs_steps == 0 else validators.positive_int(lbfgs_steps, "lbfgs_steps")
  first_adam_steps = validators.positive_int(first_adam_steps, "first_adam_steps") or adam_steps
  if resampler is not None and not callable(getattr(resampler, "resample", None)):
    raise TypeError(f"resampler must be cb.RAD(...), cb.RARD(...) or None; got {resampler!r}")
  if on_round_end is not None and not callable(on_round_end):
    raise TypeError(f"on_round_end must be a function (round, learner); got {on_round_end!r}")
  adam = adam or optax.adam(1e-3)
  lbfgs = lbfgs or optax.lbfgs(memory_size=DEEPXDE_LBFGS_MEMORY)
  callbacks = list(callbacks)
  records = []

  def phases(points, n_adam):
    learner.optimizer = adam  # fresh state: a new phase, as DeepXDE's compile
    learner.fit(points, steps=n_adam, callbacks=callbacks, verbose=verbose)
    if lbfgs_steps:
      learner.optimizer = lbfgs  # fresh curvature memory after every resample
      learner.fit(learner.data, steps=lbfgs_steps, callbacks=callbacks, verbose=verbose)
    records.append({"round": len(records), "step": learner.step,
                    "loss": learner.history["loss"][-1]})
    if on_round_end is not None:
      on_round_end(len(records) - 1, learner)

  phases(data, first_adam_steps)
  if resampler is not None:
    resampler.on_fit_begin(learner)  # its checks (and RAR-D's buffers) on the trained state
  for _ in range(rounds):
    if resampler is not None:
      resampler.resample(learner)
    phases(learner.data, adam_steps)
  return records
