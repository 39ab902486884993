"""Every public docstring example runs (Keras style: each example is a few
lines that build, often fit, and show an observable effect)."""

import doctest
import importlib
import pkgutil

import pytest

import opifex_fit

SKIP = {"opifex_fit.datasets.pyscf_pes"}  # examples call PySCF for minutes


def modules():
  names = ["opifex_fit.learner", "opifex_fit.recipes"]
  for pkg in ("callbacks", "geometry", "problems", "engine", "inputs", "models", "persistence", "parallel"):
    package = importlib.import_module(f"opifex_fit.{pkg}")
    names += [f"opifex_fit.{pkg}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
  return [n for n in names if n not in SKIP]


@pytest.mark.parametrize("name", modules())
def test_docstring_examples_run(name):
  module = importlib.import_module(name)
  result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                           verbose=False, report=True)
  assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_public_callbacks_and_problems_have_examples():
  import opifex_fit.callbacks as cb
  public = [getattr(cb, n) for n in dir(cb)
            if not n.startswith("_") and isinstance(getattr(cb, n), type)]
  public += [opifex_fit.PDEProblem, opifex_fit.Supervised, opifex_fit.EnergyForces]

  def has_example(c):
    module_doc = importlib.import_module(c.__module__).__doc__ or ""
    return ">>>" in (c.__doc__ or "") or ">>>" in module_doc

  missing = [c.__name__ for c in public if not has_example(c)]
  assert not missing, f"no runnable example in the docstrings of {missing}"
