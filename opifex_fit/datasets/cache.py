"""Caching generated datasets as ``.npz`` files.

A dataset is a pure function of its parameters (seed included), so the file
name is built from them and a second call with the same parameters loads the
file instead of running the solver again. Files are written to a temporary
name and renamed, so an interrupted run never leaves a half-written cache.

The default directory is ``examples/data`` of this repository (git-ignored),
or ``$OPIFEX_FIT_DATA`` when set; pass ``cache_dir=None`` to never touch disk.

Example:
  >>> arrays = cached("demo", {"n": 3, "seed": 0},
  ...                 lambda: {"x": np.arange(3.0)}, cache_dir=None)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np


class _Default:
  def __repr__(self) -> str:
    return "DEFAULT_CACHE_DIR"


DEFAULT = _Default()


def default_cache_dir() -> Path:
  env = os.environ.get("OPIFEX_FIT_DATA")
  if env:
    return Path(env)
  return Path(__file__).resolve().parents[2] / "examples" / "data"


def cache_path(name: str, params: dict, cache_dir) -> Path | None:
  """Where the dataset ``name`` with ``params`` lives, or None for no cache."""
  if cache_dir is None:
    return None
  if cache_dir is DEFAULT:
    cache_dir = default_cache_dir()
  if not isinstance(cache_dir, (str, os.PathLike)):
    raise TypeError(f"cache_dir must be a path, None or the default; got {cache_dir!r}")
  key = "-".join(f"{k}{params[k]}" for k in sorted(params))
  return Path(cache_dir) / f"{name}-{key}.npz"


def cached(name: str, params: dict, make: Callable[[], dict], cache_dir=DEFAULT) -> dict:
  """Loads ``name`` with ``params`` from the cache, or ``make()``s and stores it."""
  path = cache_path(name, params, cache_dir)
  meta = json.dumps(params, sort_keys=True)
  if path is not None and path.exists():
    with np.load(path) as f:
      if str(f["__params__"]) == meta:
        return {k: f[k] for k in f.files if k != "__params__"}
  arrays = make()
  if path is not None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, __params__=np.array(meta), **arrays)
    os.replace(tmp, path)
  return arrays
