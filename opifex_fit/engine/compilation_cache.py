"""JAX's persistent compilation cache, switched on for opifex-fit scripts.

Rerunning a script compiles the same programs again; with the cache on, XLA
reads them from disk instead. ``enable_compilation_cache(directory)`` turns
it on for the process (every compile, however small or fast, is kept, which
JAX's own defaults skip); setting the environment variable
``OPIFEX_FIT_CACHE_DIR`` does the same when ``opifex_fit`` is imported.
JAX's own ``JAX_COMPILATION_CACHE_DIR`` also works, with JAX's thresholds.

Example:
  >>> import tempfile, opifex_fit as of
  >>> path = of.enable_compilation_cache(tempfile.mkdtemp())
  >>> import jax; jax.config.jax_compilation_cache_dir == path
  True
"""

from __future__ import annotations

import os

import jax

ENV_VAR = "OPIFEX_FIT_CACHE_DIR"


def enable_compilation_cache(directory=None) -> str:
  """Keeps every compiled program in ``directory`` (default: ``$OPIFEX_FIT_CACHE_DIR``
  or ``~/.cache/opifex-fit/jax``); returns the directory used."""
  directory = directory or os.environ.get(ENV_VAR) or os.path.join(
      os.path.expanduser("~"), ".cache", "opifex-fit", "jax")
  if not isinstance(directory, (str, os.PathLike)):
    raise TypeError(f"directory must be a path; got {directory!r}")
  directory = os.fspath(directory)
  os.makedirs(directory, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", directory)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return directory


def enable_from_environment() -> None:
  """Called on import: ``OPIFEX_FIT_CACHE_DIR=path python script.py`` caches."""
  if os.environ.get(ENV_VAR):
    enable_compilation_cache(os.environ[ENV_VAR])
