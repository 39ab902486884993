"""Domains for PDE problems: the geometry package's boxes, re-exported here so
existing imports keep working (``from opifex_fit.problems.domains import Box``).

Example:
  >>> from opifex_fit.problems.domains import Box
  >>> Box({"x": (0.0, 1.0)}).sample_boundary(2, on="left")[:, 0].tolist()
  [0.0, 0.0]
"""

from opifex_fit.geometry.box import Box, Interval
from opifex_fit.geometry.sampling import METHODS, TIME, check_count

_check_count = check_count  # pde.py imports the old private name; the lead switches it

__all__ = ["Box", "Interval", "METHODS", "TIME", "check_count"]
