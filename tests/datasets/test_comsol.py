import io

import numpy as np
import pytest

import opifex_fit as of

EXPORT = """% Model:              heat.mph
% Version:            COMSOL 6.0.0.354
% Dimension:          2
% Nodes:              3
% Expressions:        2
% Length unit:        m
% X                       Y                        u (K) @ t=0              u (K) @ t=0.25
0                         0                        1.5                      2.5
1                         0                        -1                       3E-1
0.5                       0.75                     0.125                    7.5E-2
"""


def test_columns_names_and_values():
  table = of.datasets.read_comsol(io.StringIO(EXPORT))
  assert table.coordinate_names == ("x", "y")
  assert table.field_names == ("u@t=0", "u@t=0.25")
  np.testing.assert_array_equal(table.coordinates, [[0, 0], [1, 0], [0.5, 0.75]])
  np.testing.assert_array_equal(table.field("u@t=0.25"), [2.5, 0.3, 0.075])


def test_space_time_stacks_times_after_nodes():
  points, values = of.datasets.read_comsol(io.StringIO(EXPORT)).space_time("u")
  assert points.shape == (6, 3)
  np.testing.assert_array_equal(points[:, 2], [0, 0, 0, 0.25, 0.25, 0.25])
  np.testing.assert_array_equal(points[3:, :2], points[:3, :2])
  np.testing.assert_array_equal(values, [1.5, -1, 0.125, 2.5, 0.3, 0.075])


def test_units_dropped_and_sweeps_of_other_parameters(tmp_path):
  path = tmp_path / "lid.dat"
  path.write_text("% Dimension: 1\n% x    u @ Re=100    p (Pa)\n0    1    2\n1    3    4\n")
  table = of.datasets.read_comsol(path)
  assert table.field_names == ("u@Re=100", "p")
  re_values, cols = table.sweep("u", "Re")
  assert re_values.tolist() == [100.0] and cols[:, 0].tolist() == [1.0, 3.0]


def test_bad_files_are_refused_with_the_reason():
  with pytest.raises(ValueError, match="Dimension"):
    of.datasets.read_comsol(io.StringIO("1 2 3\n4 5 6\n"))
  with pytest.raises(ValueError, match="naming each of the 3 columns"):
    of.datasets.read_comsol(io.StringIO("% Dimension: 1\n% x    u\n1 2 3\n"))
  with pytest.raises(ValueError, match="field 'v' is not in this table"):
    of.datasets.read_comsol(io.StringIO(EXPORT)).field("v")
