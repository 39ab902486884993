"""Geometry: domains, their boundaries, sampling (host and device), normals and
distance functions. Knows no PDE.

  >>> from opifex_fit import geometry
  >>> geometry.Disk((0, 0), 1).dim
  2
"""

from opifex_fit.geometry.ball import Ball, Disk
from opifex_fit.geometry.base import Domain, Piece
from opifex_fit.geometry.box import Box, Interval
from opifex_fit.geometry.csg import CSG
from opifex_fit.geometry.point_cloud import PointCloud
from opifex_fit.geometry.polygon import Polygon
from opifex_fit.geometry.space_time import SpaceTime
from opifex_fit.geometry.sampling import METHODS, TIME, check_count
