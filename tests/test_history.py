import math

import pytest

from opifex_fit import History


def test_records_align_with_steps_and_pad_late_metrics():
  h = History()
  h.record(10, {"loss": 1.0})
  h.record(20, {"loss": 0.5, "val_loss": 0.7})
  h.record(20, {"extra": 3.0})  # same step: same row
  h.record(30, {"loss": 0.25})
  assert h.steps == [10, 20, 30]
  assert h.loss == [1.0, 0.5, 0.25]
  assert math.isnan(h.val_loss[0]) and h.val_loss[1] == 0.7 and math.isnan(h.val_loss[2])
  assert h["extra"][1] == 3.0
  with pytest.raises(AttributeError, match="no metric 'nope'"):
    h.nope  # noqa: B018 - the attribute access is what raises


def test_state_dict_round_trip():
  h = History()
  h.record(5, {"loss": 2.0})
  g = History()
  g.load_state_dict(h.state_dict())
  assert g.steps == [5] and g.loss == [2.0]
