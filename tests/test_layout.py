"""The package layout shows the architecture (issue 12): lower layers never
import upper ones, and the placement layer knows no problem types."""

import ast
import pathlib
import re

import opifex_fit as of

ROOT = pathlib.Path(of.__file__).parent
LOWER = ("engine", "parallel", "inputs", "persistence")


def imported_modules(path: pathlib.Path) -> set[str]:
  """Every module ``path`` imports, at any depth (lazy imports included)."""
  out = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      out |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module:
      out.add(node.module)
      out |= {f"{node.module}.{alias.name}" for alias in node.names}
  return out


def test_lower_layers_never_import_callbacks():
  offenders = [f"{path.relative_to(ROOT)} imports {name}"
               for layer in LOWER for path in sorted((ROOT / layer).rglob("*.py"))
               for name in sorted(imported_modules(path))
               if name == "opifex_fit.callbacks" or name.startswith("opifex_fit.callbacks.")]
  assert not offenders, "\n".join(offenders)


def test_placement_layer_knows_no_problem_types():
  text = (ROOT / "parallel" / "sharding.py").read_text()
  hits = [f"{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
          if re.search(r"pde|rard", line, re.IGNORECASE)]
  assert not hits, "sharding.py names problem types:\n" + "\n".join(hits)
  assert not any(name.startswith("opifex_fit.problems")
                 for name in imported_modules(ROOT / "parallel" / "sharding.py"))


def test_imports_helper_sees_lazy_imports(tmp_path):
  f = tmp_path / "m.py"
  f.write_text("def g():\n  from opifex_fit.callbacks.base import Callback\n")
  assert "opifex_fit.callbacks.base" in imported_modules(f)
