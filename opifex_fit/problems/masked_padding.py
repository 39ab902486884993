"""Padding masked point terms to a multiple of the device count (and back).

``PDEProblem`` averages each point term as a masked mean (a term may be
``{"points", "mask"}``), so it can pad its own data for a mesh exactly: the
padded rows copy the first point (a finite residual) and are masked out.
The placement layer (``opifex_fit.parallel.sharding``) only asks the
problem (``Problem.pad_for_devices`` / ``unpad_for_devices``); it knows no
problem types.

A record says, per padded term, ``(real rows, padded rows, had a mask)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np


def pad_terms(data, n_devices: int, previous: dict, skip=()):
  """``(padded data, record)``: every term but ``skip`` padded to a multiple
  of ``n_devices`` rows, masked. Data that comes back already padded (a
  redraw, a rolled-back snapshot, ``learner.data`` passed to ``fit``) keeps
  its term's ``previous`` record; any other value of the term drops it."""
  if not isinstance(data, Mapping):
    return data, {}
  out, record = dict(data), {}
  for term, v in data.items():
    if term in skip:
      continue
    points, mask = (v["points"], v["mask"]) if isinstance(v, Mapping) else (v, None)
    n = np.shape(points)[0]
    extra = -n % n_devices
    if extra == 0:
      old = previous.get(term)
      if old is not None and mask is not None and old[1] == n:
        record[term] = old
      continue
    record[term] = (n, n + extra, mask is not None)
    if mask is None:
      mask = jnp.ones((n,), bool)
    fill = jnp.repeat(jnp.asarray(points)[:1], extra, axis=0)  # a real point: finite residual
    out[term] = {"points": jnp.concatenate([jnp.asarray(points), fill]),
                 "mask": jnp.concatenate([jnp.asarray(mask), jnp.zeros((extra,), bool)])}
  return out, record


def unpad_terms(data, record: dict, head):
  """The data with the rows ``pad_terms`` added cut off (``head(a, n)``: the
  first ``n`` rows of ``a``, replicated on the mesh).

  A term is cut only while its rows past the real ones are all masked (and,
  for a term that had no mask, all rows before them active): a masked buffer
  that merely has the padded size (a buffer whose capacity divides the
  device count) is then either cut losslessly or kept whole, never cut
  short. Reads each padded mask once (a device sync).
  """
  if not record or not isinstance(data, Mapping):
    return data
  out = dict(data)
  for term, (n, rows, had_mask) in record.items():
    v = data.get(term)
    if not isinstance(v, Mapping) or np.shape(v["points"])[0] != rows:
      continue
    mask = np.asarray(head(v["mask"], rows))
    if mask[n:].any() or not (had_mask or mask[:n].all()):
      continue
    points = head(v["points"], n)
    out[term] = {"points": points, "mask": head(v["mask"], n)} if had_mask else points
  return out
