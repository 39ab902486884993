"""Sampling, normals and distance functions on the boundary of any piecewise
domain (primitives and CSG), written once over its pieces.

Host points on the chosen parts are spread in proportion to part measure
(largest remainder, as ``Box`` always did). Pieces of a CSG domain that lie
only partly on its boundary are sampled with rejection against the CSG level
function; on the device, candidates are drawn with a fixed oversampling factor
from the known acceptance rate and topped up from a host-made pool.

Example:
  >>> import numpy as np
  >>> import opifex_fit as of
  >>> plate = of.Box({"x": (0, 1), "y": (0, 1)}, name="plate") - of.Disk((0.5, 0.5), 0.25, name="hole")
  >>> rim = plate.sample_boundary(50, on="hole", seed=0)
  >>> bool(np.allclose(np.hypot(rim[:, 0] - 0.5, rim[:, 1] - 0.5), 0.25))
  True
  >>> np.asarray(plate.normals(np.array([0.75, 0.5]))).round(6).tolist()  # into the hole
  [-1.0, 0.0]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from opifex_fit.geometry import distance, sampling


class BoundaryMixin:
  """Boundary services built on ``pieces()``, ``groups()`` and ``level``."""

  def boundary_tolerance(self) -> float:
    return 1e-9 * self.scale

  def sample_boundary(self, n: int, *, on="boundary", seed=0, method: str = "uniform") -> np.ndarray:
    """``n`` points on the chosen parts, spread in proportion to their measure.

    ``on`` may also be a predicate ``on(points) -> bool mask`` over an
    ``(m, dim)`` array of boundary points; points are drawn until ``n`` pass.
    """
    sampling.check_count(n, "n_boundary"), sampling.check_method(method)
    rng = sampling.rng_of(seed)
    faces = self.resolve_faces(on)
    if callable(faces):
      return self.sample_predicate(n, faces, rng, method)
    return self.sample_pieces(n, self.piece_ids(faces), rng, method, on)

  def sample_pieces(self, n: int, ids, rng, method: str, on) -> np.ndarray:
    counts = sampling.spread(n, self.checked_measures(ids, on))
    parts = [self.sample_on_piece(i, ids, k, rng, method) for i, k in zip(ids, counts) if k]
    return np.concatenate(parts)[rng.permutation(n)]

  def checked_measures(self, ids, on) -> np.ndarray:
    measures = self.piece_measures(ids)
    if not measures.sum() > 0:
      raise ValueError(f"on={on!r} selects no boundary point of {self!r}: the chosen parts lie"
                       " inside the domain or outside it; choose parts of its boundary")
    return measures

  def sample_on_piece(self, i: int, ids, n: int, rng, method: str) -> np.ndarray:
    leaf, name, _ = self.pieces()[i]
    if self.exact_pieces:
      return leaf.sample_piece(name, n, rng, method)
    return sampling.host_rejection(
        n, lambda m: leaf.sample_piece(name, m, rng, method),
        lambda c: self.keeps(i, ids, c, np), self.piece_fraction(i, ids))

  def keeps(self, i: int, ids, x, xp):
    """True where points ``x`` of piece ``i`` bound the domain (see ``bounding``)
    and lie on no earlier piece of the selection ``ids`` (coincident faces count once)."""
    leaf, name, flip = self.pieces()[i]
    ok = self.bounding(x, leaf.piece_normal(name, x, xp) * (-1.0 if flip else 1.0), xp)
    return ok & ~self.on_earlier(i, ids, x, xp)

  def bounding(self, x, normal, xp):
    """Inside just behind ``x`` and outside just ahead along its piece's outward
    ``normal``: pieces inside the domain, outside it, or folded onto another
    piece (a notch's face on the outer square) drop out."""
    coarse = xp is not np and jnp.finfo(x.dtype).bits < 64  # float32 levels carry ~1e-7 noise
    step = (1e-4 if coarse else 1e-7) * self.scale * normal
    return (self.level(x - step, xp) < 0) & (self.level(x + step, xp) > 0)

  def on_earlier(self, i: int, ids, x, xp):
    pieces, out = self.pieces(), xp.zeros(x.shape[:-1], bool)
    tol = self.boundary_tolerance() if xp is np else sampling.device_tolerance(x.dtype, self.scale)
    for j in self.overlaps(i, ids):
      out = out | pieces[j].leaf.piece_on(pieces[j].name, x, tol, xp)
    return out

  def overlaps(self, i: int, ids) -> tuple[int, ...]:
    """Earlier pieces of ``ids`` that share a part of piece ``i`` (checked once
    on 4096 quasi-random points of piece ``i``)."""
    cache = self.__dict__.setdefault("overlap_cache", {})
    if (i, ids) not in cache:
      pieces, tol = self.pieces(), self.boundary_tolerance()
      leaf, name, _ = pieces[i]
      pts = leaf.sample_piece(name, 4096, sampling.rng_of(0), "sobol")
      cache[(i, ids)] = tuple(j for j in ids if j < i and np.any(
          pieces[j].leaf.piece_on(pieces[j].name, pts, tol, np)))
    return cache[(i, ids)]

  def sample_predicate(self, n: int, pred, rng, method: str) -> np.ndarray:
    found, total = [], 0
    for _ in range(100):
      cand = self.sample_boundary(max(4 * n, 64), seed=rng, method=method)
      mask = np.asarray(pred(cand))
      if mask.shape != (len(cand),) or mask.dtype != bool:
        raise ValueError(f"on= predicate must map points of shape {cand.shape} to a bool mask"
                         f" of shape ({len(cand)},); got {mask.dtype} {mask.shape}")
      found.append(cand[mask])
      total += int(mask.sum())
      if total >= n:
        return np.concatenate(found)[:n]
    raise ValueError(f"on= predicate selected {total} of the sampled boundary points; it must"
                     " select a part of the boundary with positive measure")

  # -- on the device -----------------------------------------------------------
  def device_boundary(self, key, n: int, faces="boundary", dtype=jnp.float32) -> jax.Array:
    """``n`` uniform points on the chosen parts (traceable, fixed shape)."""
    if callable(faces):
      raise ValueError("faces must be part names for device sampling; a predicate (on=<function>)"
                       " can only be sampled on the host")
    ids = self.piece_ids(faces)
    effective = self.checked_measures(ids, faces)
    pieces = self.pieces()
    full = np.array([pieces[i].leaf.piece_measure(pieces[i].name) for i in ids])
    m = n if self.exact_pieces else sampling.oversampled(n, effective.sum() / full.sum())
    which_key, point_key, fill_key = jax.random.split(key, 3)
    which = jax.random.choice(which_key, len(ids), (m,), p=jnp.asarray(full / full.sum()))
    keys = jax.random.split(point_key, len(ids))
    cand = jnp.zeros((m, self.dim), dtype)
    for k, i in enumerate(ids):
      pts = pieces[i].leaf.device_piece(pieces[i].name, keys[k], m, dtype)
      cand = jnp.where((which == k)[:, None], pts, cand)
    if self.exact_pieces:
      return cand
    normal, earlier = jnp.zeros_like(cand), jnp.zeros((m,), bool)
    for k, i in enumerate(ids):
      leaf, name, flip = pieces[i]
      normal = jnp.where((which == k)[:, None], leaf.piece_normal(name, cand) * (-1.0 if flip else 1.0),
                         normal)
      if self.overlaps(i, ids):
        earlier = earlier | ((which == k) & self.on_earlier(i, ids, cand, jnp))
    ok = self.bounding(cand, normal, jnp) & ~earlier
    return sampling.keep_accepted(cand, ok, n, self.boundary_pool(ids), fill_key)

  def boundary_pool(self, ids) -> np.ndarray:
    pools = self.__dict__.setdefault("boundary_pools", {})
    if ids not in pools:
      pools[ids] = self.sample_pieces(sampling.POOL_SIZE, ids, sampling.rng_of(0), "uniform", ids)
    return pools[ids]

  # -- traceable geometry ------------------------------------------------------
  def normals(self, x, faces=None):
    """Outward unit normals at boundary points ``x`` (traceable).

    ``faces`` is where the condition lives, as ``on=`` takes it; None or a
    predicate means the whole spatial boundary. Only the chosen parts count:
    at a corner of one chosen part its own normal is returned, and normals
    average where two chosen parts meet. Points off the chosen parts get 0.
    """
    pieces = self.pieces()
    ids = range(len(pieces)) if faces is None or callable(faces) else self.piece_ids(faces)
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))
    tol = 1e-5 * self.scale
    on_this = True if self.exact_pieces else jnp.abs(self.level(x, jnp)) <= tol
    out = jnp.zeros_like(x)
    for i in ids:
      leaf, name, flip = pieces[i]
      mask = leaf.piece_on(name, x, tol) & on_this
      normal = leaf.piece_normal(name, x) * (-1.0 if flip else 1.0)
      out = out + jnp.where(mask[..., None], normal, 0.0)
    norm = jnp.linalg.norm(out, axis=-1, keepdims=True)
    return out / jnp.where(norm > 0, norm, 1.0)

  def distance(self, x, on="boundary"):
    """An approximate distance function (traceable): zero on the chosen parts,
    positive inside, with unit gradient on smooth parts of the boundary.

    The whole boundary uses the domain's R-function (``adf``); some parts only
    join the pieces' own distances with the R-equivalence (see
    ``opifex_fit.geometry.distance``), so ``u = g + distance(x, on) * v`` meets
    ``u = g`` exactly on those parts.
    """
    faces = self.resolve_faces(on)
    if callable(faces):
      raise TypeError(f"on= must name parts of the boundary for a distance function; got {on!r}")
    ids = self.piece_ids(faces)
    x = jnp.asarray(x)
    if len(ids) == len(self.pieces()):
      return self.adf(x)
    return distance.equivalence([self.piece_adf(i, x) for i in ids])
