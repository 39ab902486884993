"""cb.CSVLogger: one row per History record; columns grow; append keeps rows."""
import csv
import math
from types import SimpleNamespace

import pytest

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def read_csv(path):
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    return reader.fieldnames, list(reader)


def same(cell, value):
  if cell == "":
    return math.isnan(value)
  return float(cell) == value   # repr round-trips floats exactly


def test_rows_are_the_history_records(tmp_path, data):
  path = tmp_path / "sub" / "log.csv"
  learner = make_learner()
  h = learner.fit(data, steps=100, validation_data=sine_data(32, seed=1), validation_every=50,
                  steps_per_execution=25, callbacks=[cb.CSVLogger(path)], verbose=0)
  header, rows = read_csv(path)
  assert header[0] == "step" and set(header[1:]) == set(h)
  assert [int(r["step"]) for r in rows] == h.steps == [25, 50, 75, 100]
  for i, row in enumerate(rows):
    for name in h:
      assert same(row[name], h[name][i]), (i, name, row[name], h[name][i])
  # val_loss appeared at the second record: the header grew, earlier cells are empty.
  assert rows[0]["val_loss"] == "" and rows[2]["val_loss"] == "" and rows[1]["val_loss"] != ""


def fake(step, logs):
  return SimpleNamespace(step=step, logs=logs)


def test_columns_grow_and_same_step_updates_its_row(tmp_path):
  path = tmp_path / "log.csv"
  logger = cb.CSVLogger(path)
  logger.on_fit_begin(fake(0, {}))
  logger.on_step_end(fake(10, {"loss": 1.5}))
  logger.on_step_end(fake(20, {"loss": 0.5}))
  assert open(path).read() == "step,loss\n10,1.5\n20,0.5\n"
  logger.on_validation_end(fake(20, {"loss": 0.5, "val_loss": 0.75}))  # same record
  assert open(path).read() == "step,loss,val_loss\n10,1.5,\n20,0.5,0.75\n"
  logger.on_step_end(fake(30, {"loss": 0.25, "extra": 2}))
  logger.on_validation_end(fake(30, {"loss": 0.25, "extra": 2, "val_loss": 0.125}))
  assert open(path).read() == ("step,loss,val_loss,extra\n10,1.5,,\n20,0.5,0.75,\n"
                               "30,0.25,0.125,2\n")


def test_append_keeps_rows_and_drops_those_after_the_resume_step(tmp_path):
  path = tmp_path / "log.csv"
  first = cb.CSVLogger(path)
  first.on_fit_begin(fake(0, {}))
  for step in (10, 20, 30):
    first.on_step_end(fake(step, {"loss": 1.0 / step}))
  # A resumed run restarts from step 20 (its checkpoint): row 30 is dropped.
  resumed = cb.CSVLogger(path, append=True)
  resumed.on_fit_begin(fake(20, {}))
  resumed.on_step_end(fake(30, {"loss": 0.03, "lr_scale": 1.0}))
  header, rows = read_csv(path)
  assert header == ["step", "loss", "lr_scale"]
  assert [(r["step"], r["loss"], r["lr_scale"]) for r in rows] == [
      ("10", "0.1", ""), ("20", "0.05", ""), ("30", "0.03", "1.0")]
  # By default a fit starting past step 0 (a resume) appends, keeping rows up to it.
  default = cb.CSVLogger(path)
  default.on_fit_begin(fake(20, {}))
  assert [r["step"] for r in read_csv(path)[1]] == ["10", "20"]
  # append=False starts the file again.
  fresh = cb.CSVLogger(path, append=False)
  fresh.on_fit_begin(fake(30, {}))
  assert open(path).read() == "step\n"


def test_second_fit_with_append_continues_the_file(tmp_path, data):
  path = tmp_path / "log.csv"
  learner = make_learner()
  for _ in range(2):
    learner.fit(data, steps=40, steps_per_execution=20,
                callbacks=[cb.CSVLogger(path, append=True)], verbose=0)
  _, rows = read_csv(path)
  assert [int(r["step"]) for r in rows] == [20, 40, 60, 80] == learner.history.steps


def test_bad_arguments():
  with pytest.raises(TypeError, match="path"):
    cb.CSVLogger(None)
  with pytest.raises(TypeError, match="append"):
    cb.CSVLogger("log.csv", append="yes")
  assert cb.CSVLogger("log.csv").order == 90


def test_append_to_a_file_without_step_column_is_refused(tmp_path):
  path = tmp_path / "other.csv"
  path.write_text("a,b\n1,2\n")
  with pytest.raises(ValueError, match="no 'step' column.*\\['a', 'b'\\]"):
    cb.CSVLogger(path, append=True).on_fit_begin(fake(0, {}))
  assert path.read_text() == "a,b\n1,2\n"   # left as it was
