import jax

from opifex_fit import callbacks as cb
from support import make_learner, sine_data


def test_lines_mode_prints_records(capsys):
  make_learner().fit(sine_data(), steps=40, steps_per_execution=20, verbose=2)
  out = capsys.readouterr().out
  assert "step 20" in out and "step 40" in out and "loss=" in out


def test_only_process_zero_prints(capsys, monkeypatch):
  monkeypatch.setattr(jax, "process_index", lambda: 1)
  make_learner().fit(sine_data(), steps=40, steps_per_execution=20,
                     callbacks=[cb.ProgressBar(mode="lines")], verbose=0)
  assert capsys.readouterr().out == ""
