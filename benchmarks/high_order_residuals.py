"""High-order and multi-output PINN residuals: Learner.fit against the
fastest hand-written batched JAX loops (issue 23, item 7).

Workloads (float32, Adam(1e-3), full batch, ``CHUNK`` steps per ``lax.scan``):

* ``ks``: Kuramoto-Sivashinsky residual u_t + u u_x + u_xx + u_xxxx on the
  box x in (0, 2 pi), t in (0, 1); MLP 2-64-64-64-1 tanh.
* ``ns``: steady incompressible Navier-Stokes, outputs (u, v, p) of an MLP
  2-64-64-64-3 tanh on the unit square: momentum u u_x + v u_y + p_x -
  nu (u_xx + u_yy) (and v), continuity u_x + v_y, nu = 0.01.

The residual term alone is trained (no conditions: the speed of the
derivative engine is what is measured). Every loop trains the same network
from the same weights on the same points. The hand-written loops hold the
parameters as plain arrays, write the MLP by hand and take the derivatives
on the whole batch at once, either by Taylor mode (``jax.experimental.jet``
along x, and y) or by nested ``jvp``; the faster of the two is the reference.

Runs alternate so load hits all alike; reported: steps/s after compile
(median of the repeats), the first call (compile + one chunk) as a user
sees it, and Learner / fastest hand loop. Goal: >= 0.95x.

The extra row "scanned loop on problem.loss_terms" is the hand loop run on
the library's loss: it separates the derivative engine from the Learner loop.

Measured (XLA:CPU, 2 cores shared with three other jobs, load average
8-12, so rates are low and swing by +-10% between runs; 500 steps, median of
3 alternating runs; compiled flops of one loss-and-gradient are the
steadier measure):

=====  ==========  ==========  =======  ===================  ================
case   hand jet    hand jvp    Learner  Learner / fastest    flops lib / hand
=====  ==========  ==========  =======  ===================  ================
ks     15.8, 14.1  13.6, 12.6  15.0, 14.0   0.951x, 0.999x   1.003 (vs jet)
ns     22.3, 22.2  27.8, 23.2  24.2, 22.3   0.871x, 0.964x   1.000 (vs jvp)
=====  ==========  ==========  =======  ===================  ================

ns, a third run: hand jvp 24.6, Learner 22.0 (0.893x), library loss in the
hand loop 21.3. An NS-only run of 300 steps, median of 7: hand jvp 24.3,
library loss in the hand loop 23.7 (0.973x), Learner 22.0 (0.904x). The
derivative engine is at parity (same flops, the same nested jvps); the
rest of the NS gap is in the Learner's step (engine/, outside this work).

Run: ``python benchmarks/high_order_residuals.py [--case ks ns] [--steps 500] [--repeats 3]``
"""

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.experimental.jet import jet

import opifex_fit as of
from scanned_loop import compare_alternating, scanned_adam_loop

NU = 0.01
CASES = {
    "ks": dict(box={"x": (0, 2 * jnp.pi), "t": (0, 1)}, outputs=1),
    "ns": dict(box={"x": (0, 1), "y": (0, 1)}, outputs=3),
}


def ks_residual(x, u, d):
  return d["t"] + u * d["x"] + d["xx"] + d["xxxx"]


def ns_residual(x, u, d):
  ux, uy, lap = d["x"], d["y"], d["xx"] + d["yy"]
  return jnp.stack([u[0] * ux[0] + u[1] * uy[0] + ux[2] - NU * lap[0],
                    u[0] * ux[1] + u[1] * uy[1] + uy[2] - NU * lap[1],
                    ux[0] + uy[1]])


def make_model(outputs, width):
  return of.models.MLP(2, [width] * 3 + [outputs], activation="tanh", rngs=nnx.Rngs(0))


def plain_params(model):
  """The MLP's weights as a list of ``(kernel, bias)`` arrays."""
  return [(layer.kernel[...], layer.bias[...]) for layer in model.layers]


def mlp(params, x):
  for w, b in params[:-1]:
    x = jnp.tanh(x @ w + b)
  w, b = params[-1]
  return x @ w + b


def ks_loss(pts, how):
  ex = jnp.broadcast_to(jnp.array([1.0, 0.0], pts.dtype), pts.shape)
  et = jnp.broadcast_to(jnp.array([0.0, 1.0], pts.dtype), pts.shape)
  zero = jnp.zeros_like(pts)

  def loss(p):
    f = lambda y: mlp(p, y)[:, 0]
    if how == "jet":  # all x-derivatives to order 4 in one Taylor pass
      u, (ux, uxx, _, uxxxx) = jet(f, (pts,), ((ex, zero, zero, zero),))
    else:  # four nested jvps along x
      d1 = lambda y: jax.jvp(f, (y,), (ex,))
      d2 = lambda y: jax.jvp(d1, (y,), (ex,))
      d3 = lambda y: jax.jvp(d2, (y,), (ex,))
      (((u, ux), (_, uxx)), _), (_, (_, (_, uxxxx))) = jax.jvp(d3, (pts,), (ex,))
    ut = jax.jvp(f, (pts,), (et,))[1]
    return jnp.mean((ut + u * ux + uxx + uxxxx) ** 2)
  return loss


def ns_loss(pts, how):
  eye = jnp.eye(2, dtype=pts.dtype)
  tangents = [jnp.broadcast_to(e, pts.shape) for e in eye]
  zero = jnp.zeros_like(pts)

  def loss(p):
    f = lambda y: mlp(p, y)
    firsts, seconds = [], []
    for t in tangents:  # (value, first, second) along x, then y
      if how == "jet":
        u, (d1, d2) = jet(f, (pts,), ((t, zero),))
      else:
        (u, d1), (_, d2) = jax.jvp(lambda y, t=t: jax.jvp(f, (y,), (t,)), (pts,), (t,))
      firsts.append(d1)
      seconds.append(d2)
    (dx, dy), lap = firsts, seconds[0] + seconds[1]
    r = jnp.stack([u[:, 0] * dx[:, 0] + u[:, 1] * dy[:, 0] + dx[:, 2] - NU * lap[:, 0],
                   u[:, 0] * dx[:, 1] + u[:, 1] * dy[:, 1] + dy[:, 2] - NU * lap[:, 1],
                   dx[:, 0] + dy[:, 1]])
    return jnp.mean(r ** 2)
  return loss


def learner_loop(case, data, width, chunk):
  residual = ks_residual if case == "ks" else ns_residual
  problem = of.PDEProblem(residual, of.Box(CASES[case]["box"]))
  learner = of.Learner(make_model(CASES[case]["outputs"], width), problem, optax.adam(1e-3))

  def run(n_chunks):
    start = time.perf_counter()
    learner.fit(data, steps=n_chunks * chunk, verbose=0, steps_per_execution=chunk)
    jax.block_until_ready(learner.state.params)
    return time.perf_counter() - start
  return run, learner


def library_loss(problem, model, data):
  """The library's own loss as a function of the parameters: in the hand
  loop it separates the derivative engine's cost from the Learner loop's."""
  graphdef, _ = nnx.split(model, nnx.Param)
  dev = problem.prepare(model, data)
  return lambda p: problem.loss_terms(nnx.merge(graphdef, p), dev)["pde"]


def compare(case, steps=500, repeats=3, n_points=2000, width=64, chunk=100, hands=("jet", "jvp"),
            split=True):
  """Times the Learner and the hand loops of ``case``; returns
  ``(steps/s per loop, Learner / fastest hand loop)``. ``split`` adds the
  hand loop on ``problem.loss_terms`` (engine cost without the Learner)."""
  problem = of.PDEProblem(ks_residual if case == "ks" else ns_residual, of.Box(CASES[case]["box"]))
  data = problem.sample(n_interior=n_points, seed=0)
  pts = jnp.asarray(data["pde"], jnp.float32)
  make_loss = ks_loss if case == "ks" else ns_loss
  runs = {}
  for how in hands:
    params = plain_params(make_model(CASES[case]["outputs"], width))
    runs[f"hand: {how}, batched"] = scanned_adam_loop(make_loss(pts, how), params, chunk)
  fit, learner = learner_loop(case, data, width, chunk)
  runs["Learner.fit"] = fit
  if split:
    runs["scanned loop on problem.loss_terms"] = scanned_adam_loop(
        library_loss(problem, learner.model, data), nnx.split(learner.model, nnx.Param)[1], chunk)
  rate = compare_alternating(runs, max(1, steps // chunk), repeats, chunk,
                             f"{case}: {n_points} points, width {width}, float32")
  fastest = max((name for name in rate if name.startswith("hand")), key=rate.get)
  ratio = rate["Learner.fit"] / rate[fastest]
  print(f"{case}: Learner / fastest hand loop ({fastest}): {ratio:.3f}x; chunk compilations in"
        f" the Learner: {learner.trace_counts.get('chunk')}")
  return rate, ratio


def main(cases=("ks", "ns"), **kwargs):
  return {case: compare(case, **kwargs) for case in cases}


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--case", nargs="+", default=["ks", "ns"], choices=sorted(CASES))
  parser.add_argument("--steps", type=int, default=500)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--points", type=int, default=2000)
  parser.add_argument("--no-split", action="store_true", help="without the problem.loss_terms row")
  args = parser.parse_args()
  main(tuple(args.case), steps=args.steps, repeats=args.repeats, n_points=args.points,
       split=not args.no_split)
