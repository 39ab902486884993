"""Reading COMSOL text exports, as PINNacle ships its reference solutions.

A COMSOL export (``File > Export > Data``, "spreadsheet" layout) has ``%``
header lines, the last of which names the columns, then one row per mesh
node: the coordinates first (``% Dimension: d`` of them), then the fields.
A time-dependent field has one column per time, named ``u (1) @ t=0.1``;
a parametric sweep names its parameter the same way (``u @ Re=100``).

``read_comsol`` returns the table as it is; ``ComsolTable.space_time(field)``
stacks the time columns of one field into points ``(x..., t)`` for a
space-time reference.

Example:
  >>> import io
  >>> text = '''% Dimension: 1
  ... % X      u (1) @ t=0      u (1) @ t=0.5
  ... 0        1.0              2.0
  ... 1        3.0              4.0
  ... '''
  >>> table = read_comsol(io.StringIO(text))
  >>> table.coordinate_names, table.field_names
  (('x',), ('u@t=0', 'u@t=0.5'))
  >>> points, values = table.space_time("u")
  >>> points.tolist(), values.tolist()
  ([[0.0, 0.0], [1.0, 0.0], [0.0, 0.5], [1.0, 0.5]], [1.0, 3.0, 2.0, 4.0])
"""

from __future__ import annotations

import io
import os
import re
from typing import NamedTuple

import numpy as np

_SPLIT = re.compile(r"\s{2,}")
_SWEEP = re.compile(r"^(?P<field>.+?)\s*(\([^)]*\))?\s*@\s*(?P<param>\w+)\s*=\s*(?P<value>\S+)$")
_UNIT = re.compile(r"\s*\([^)]*\)\s*$")


class ComsolTable(NamedTuple):
  """One COMSOL export.

  Attributes:
    coordinates: ``(n_nodes, dim)`` node coordinates.
    fields: ``(n_nodes, n_fields)`` values, one column per field (and time).
    coordinate_names: lower-case names of the coordinate columns (``"x"``, ``"y"``).
    field_names: field column names without units, a sweep as ``"u@t=0.5"``.
  """

  coordinates: np.ndarray
  fields: np.ndarray
  coordinate_names: tuple[str, ...]
  field_names: tuple[str, ...]

  def field(self, name: str) -> np.ndarray:
    """The column ``name`` (as in ``field_names``), shape ``(n_nodes,)``."""
    if name not in self.field_names:
      raise ValueError(f"field {name!r} is not in this table; its fields are {list(self.field_names)}")
    return self.fields[:, self.field_names.index(name)]

  def sweep(self, field: str, parameter: str = "t") -> tuple[np.ndarray, np.ndarray]:
    """``(parameter values (m,), columns (n_nodes, m))`` of ``field`` over a sweep."""
    cols, values = [], []
    for i, name in enumerate(self.field_names):
      base, _, rest = name.partition("@")
      if base == field and rest.startswith(parameter + "="):
        cols.append(i)
        values.append(float(rest[len(parameter) + 1:]))
    if not cols:
      raise ValueError(f"no column of field {field!r} over {parameter!r}; the fields are"
                       f" {list(self.field_names)}")
    return np.asarray(values), self.fields[:, cols]

  def space_time(self, field: str, time: str = "t") -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n_nodes * m, dim + 1)`` with the time last, and ``field`` there.

    Rows run over the nodes first, then the times (all nodes at the first
    time, then at the second, ...).
    """
    times, cols = self.sweep(field, time)
    n = len(self.coordinates)
    points = np.concatenate([np.tile(self.coordinates, (len(times), 1)),
                             np.repeat(times, n)[:, None]], axis=1)
    return points, cols.T.reshape(-1)


def read_comsol(path) -> ComsolTable:
  """Reads a COMSOL text export (a path, or an open text stream).

  Raises ValueError when the header does not name as many columns as the rows
  have, or when a row has a different number of columns.
  """
  where = path if isinstance(path, (str, os.PathLike)) else "<stream>"
  text = open(path, encoding="utf-8").read() if isinstance(path, (str, os.PathLike)) \
      else path.read()
  header = [line[1:].strip() for line in text.splitlines() if line.startswith("%")]
  dim = next((int(h.split(":", 1)[1]) for h in header if h.lower().startswith("dimension:")), None)
  try:
    rows = np.loadtxt(io.StringIO(text), comments="%", ndmin=2)
  except ValueError as e:
    raise ValueError(f"{where}: the rows of a COMSOL export must be numbers of equal count: {e}") from e
  names = _SPLIT.split(header[-1]) if header else []
  if dim is None or len(names) != rows.shape[1]:
    raise ValueError(f"{where}: expected a '% Dimension: d' line and a last header line naming"
                     f" each of the {rows.shape[1]} columns; got dimension={dim}, names={names}")
  fields = tuple(_field_name(n) for n in names[dim:])
  return ComsolTable(rows[:, :dim], rows[:, dim:], tuple(n.lower() for n in names[:dim]), fields)


def _field_name(column: str) -> str:
  """``"u (1) @ t=0.1"`` -> ``"u@t=0.1"``; ``"p (Pa)"`` -> ``"p"``."""
  m = _SWEEP.match(column)
  if m:
    return f"{_UNIT.sub('', m['field']).strip()}@{m['param']}={m['value']}"
  return _UNIT.sub("", column).strip()
