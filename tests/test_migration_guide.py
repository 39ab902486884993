"""docs/migrating-from-opifex.md: every python block runs, and its results are checked.

Convention (stated at the top of the page): the ```python blocks under one
heading run in order in one fresh namespace, in a temporary working
directory, with fit's progress bar off; ```text blocks are not run. Each
section's result is then checked by a function of its namespace below, and
the mapping table must name every field of the guide's config objects (read
from the guide's own code blocks).
"""

import ast
import math
import os
import re

import numpy as np
import pytest

import opifex_fit as of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "migrating-from-opifex.md")
GUIDE_CANDIDATES = (os.path.join(ROOT, "..", "shared", "reference", "opifex-training-guide.md"),
                    os.path.join(ROOT, "shared", "reference", "opifex-training-guide.md"))
MAPPING = "Mapping of the configuration fields"


def read(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


def sections(text):
  """[(heading, [(language, code), ...])] in order; a heading is a ## or ### line."""
  out, title, blocks, lang, code = [], "", [], None, []
  for line in text.splitlines():
    fence = re.fullmatch(r"```(\w*)\s*", line)
    if lang is not None:
      if fence and not fence.group(1):
        blocks.append((lang, "\n".join(code)))
        lang, code = None, []
      else:
        code.append(line)
    elif fence:
      lang = fence.group(1) or "text"
    elif re.match(r"#{2,3} ", line):
      out.append((title, blocks))
      title, blocks = line.lstrip("#").strip(), []
  out.append((title, blocks))
  return [(t, b) for t, b in out if t or b]


def python_sections(text):
  return [(t, [code for lang, code in b if lang == "python"]) for t, b in sections(text)
          if any(lang == "python" for lang, _ in b)]


def decreased(values):
  values = [v for v in values if math.isfinite(v)]
  return len(values) >= 2 and values[-1] < values[0]


# -- the check of each section's result ---------------------------------------
def check_unified(ns):
  assert "shape (1000,)" in ns["shape_error"] and "y" in ns["shape_error"]
  assert ns["learner"].epoch == 20 and ns["learner"].step == 80
  assert decreased(ns["history"]["loss"])
  assert "80" in os.listdir("checkpoints/unified")
  drifts = ns["conservation_history"]
  assert np.isfinite(drifts["conservation_energy"][-1]) and np.isfinite(drifts["conservation_mass"][-1])
  assert ns["pes"].evaluate(ns["data"])["energy_mae"] < 1e-2
  assert np.isfinite(ns["pes_history"]["val_energy_mae"][-1])


def check_basic(ns):
  h = ns["history"]
  assert not math.isnan(h["val_loss"][-1]) and decreased(h["loss"])
  assert ns["stopper"].status.best is not None
  assert os.path.isdir("checkpoints/basic")


def check_modular(ns):
  h = ns["advanced_history"]
  assert ns["modular"].step == 60 and decreased(h["loss"])
  assert h["skipped_updates"][-1] == 0
  with open("modular_history.csv") as f:
    assert f.readline().startswith("step,") and len(f.readlines()) >= 3
  assert os.path.isdir("checkpoints/modular")


def check_pinn(ns):
  h = ns["pinn_history"]
  assert decreased(h["pde_loss"]) and np.isfinite(h["bc_loss"][-1])
  assert ns["pinn"].loss_weights["bc"] != 10.0  # LRAnnealing moved it
  assert np.isfinite(ns["poisson_problem"].relative_l2(ns["pinn"].model, ns["exact"]))


def check_fno(ns):
  assert decreased(ns["fno_history"]["loss"]) and np.isfinite(ns["fno_history"]["val_loss"][-1])
  assert ns["fno"].predict(ns["input_funcs"][32:]).shape == (16, 32, 32, 1)


def check_deeponet(ns):
  assert decreased(ns["deeponet_history"]["loss"])
  assert np.isfinite(ns["deeponet_history"]["val_loss"][-1])


def check_schedule(ns):
  assert ns["total_steps"] == 64 and ns["learner"].step == 64 + 16
  schedule, lr = ns["schedule"], ns["lr_log"]
  assert float(schedule(ns["total_steps"])) == pytest.approx(1e-4, rel=1e-3)
  # lr is the rate of the last update of each chunk: the schedule at step - 1
  assert ns["lr_steps"] == list(range(4, 65, 4))
  assert lr == pytest.approx([float(schedule(s - 1)) for s in ns["lr_steps"]], rel=1e-4)
  assert lr[0] < max(lr) and lr[-1] < max(lr)  # the warmup, then the decay
  assert ns["more"]["lr"][-1] == pytest.approx(0.5 * 1e-4, rel=1e-3)  # times lr_scale
  assert ns["learner"].evaluate((ns["x_train"], ns["y_train"]))["loss"] < ns["initial_loss"]


def check_regularization(ns):
  h = ns["history"]
  for name in ("l1_loss", "l2_loss", "spectral_loss"):
    assert h[name][-1] > 0
  assert dict(ns["regularized"].loss_weights)["l2"] == pytest.approx(1e-4)
  assert h["data_loss"][-1] < ns["initial_loss"]


def check_metrics(ns):
  h = ns["history"]  # the learner's History: the first fit's records are the first two
  assert h.steps == [25, 50, 75, 100]
  for term in ("pde", "bc"):
    assert all(np.isfinite(h[f"{term}_residual_max"][:2])) and np.isfinite(h[f"{term}_residual_std"][1])
    assert all(m >= s for m, s in zip(h[f"{term}_residual_max"][:2], h[f"{term}_residual_mean"][:2]))
  assert all(g > 0 for g in h["grad_norm"][:2]) and h["grad_max"][1] > 0 and h["update_ratio"][1] > 0
  assert len(ns["layer_norms"]) == 6  # kernel and bias of three layers
  assert all(np.isfinite(ns["more"]["grid_residual_max"][2:]))
  assert os.listdir("runs/metrics")


def check_visualization(ns):
  assert {"history.png", "solution.png"} <= set(os.listdir("plots"))


def check_checkpointing(ns):
  assert ns["resumed_checkpoint"].restored_step == 50 and ns["second"].step == 100
  assert {"25", "50", "75", "100"} <= set(os.listdir(ns["checkpoint_dir"]))
  assert np.allclose(ns["third"].predict(ns["x"]), ns["second"].predict(ns["x"]))


def check_sampling(ns):
  h = ns["learner"].history
  assert np.isfinite(h["rad_pde_residual"][1]) and ns["learner"].data["pde"]["points"].shape == (512, 2)
  assert ns["learner"].step == 100 and h["rard_points"][-1] == 256 + 2 * 64  # pde points, two refinements
  uniform, first = ns["uniform"], ns["first_points"]
  assert uniform.trace_counts["chunk"] == 1 and uniform.data["bc"].shape == first["bc"].shape
  assert not np.allclose(uniform.data["bc"], first["bc"])
  rounds = ns["rounds"]
  assert [r["round"] for r in rounds] == [0, 1, 2] and [r["step"] for r in rounds] == [40, 80, 120]
  assert ns["wu"].trace_counts["chunk"] == 2 and all(np.isfinite(r["loss"]) for r in rounds)


def check_gradnorm(ns):
  h = ns["history"]
  weights = [h[f"{t}_weight"][-1] for t in ("pde", "bc", "data")]
  assert sum(weights) == pytest.approx(3.0, rel=1e-4) and weights != [1.0, 1.0, 1.0]
  assert "gradnorm_loss" in h
  ntk = ns["ntk_history"]
  assert ntk["ntk_trace_pde"][0] > 0 and ntk["bc_weight"][-1] != 1.0
  causal = ns["causal_history"]
  assert 0 < causal["causal_weight_min"][-1] < causal["causal_weight_mean"][-1] < 1
  assert causal["causal_eps"][-1] == 1.0 and np.isfinite(causal["causal_residual_loss"][-1])


def check_multilevel(ns):
  learner, history = ns["learner"], ns["history"]
  assert learner.step == 80 and ns["multilevel"].level == 2
  assert [layer.out_features for layer in learner.model.layers] == [64, 64, 1]
  assert learner.trace_counts["chunk"] == 3 and decreased(history["loss"])
  assert ns["growth_change"] < 1e-5


def check_see_also(ns):
  h = ns["history"]
  assert ns["learner"].step == 100 and ns["learner"].history.steps[-1] == 100
  assert h["ntk_trace_pde"][-1] > 0 and np.isfinite(h["ntk_trace_ratio_bc"][-1])
  assert h["loss"][-1] < h["loss"][0]  # Adam to step 50, then L-BFGS


CHECKS = {
  "Unified Trainer Architecture": check_unified,
  "Basic Training Infrastructure": check_basic,
  "Advanced Modular Training Architecture": check_modular,
  "Basic PINN Training": check_pinn,
  "Fourier Neural Operator (FNO) Training": check_fno,
  "DeepONet Training": check_deeponet,
  "Learning Rate Scheduling": check_schedule,
  "Gradient Clipping and Regularization": check_regularization,
  "Advanced Metrics Collection": check_metrics,
  "Real-Time Visualization": check_visualization,
  "Robust Checkpointing System": check_checkpointing,
  "Multilevel Training": check_multilevel,
  "Adaptive Sampling": check_sampling,
  "GradNorm Loss Balancing": check_gradnorm,
  "See Also": check_see_also,
}
NEEDS = {"Real-Time Visualization": "matplotlib"}


def test_every_runnable_section_has_a_check():
  titles = [t for t, _ in python_sections(read(DOC))]
  assert titles and set(titles) == set(CHECKS), set(titles) ^ set(CHECKS)


@pytest.fixture
def quiet_fit(monkeypatch):
  fit = of.Learner.fit

  def quiet(self, *args, **kwargs):
    kwargs["verbose"] = 0
    return fit(self, *args, **kwargs)
  monkeypatch.setattr(of.Learner, "fit", quiet)


@pytest.mark.parametrize("title", list(CHECKS))
def test_section_runs(title, tmp_path, monkeypatch, quiet_fit):
  if title in NEEDS:
    pytest.importorskip(NEEDS[title])
  blocks = dict(python_sections(read(DOC)))[title]
  monkeypatch.chdir(tmp_path)
  ns = {"__name__": "migration_guide"}
  for i, code in enumerate(blocks):
    exec(compile(code, f"{DOC}:{title}:block{i}", "exec"), ns)
  CHECKS[title](ns)


# -- the mapping table names every field of the guide's config objects ------------------
# Used only where the guide itself (shared/reference) is not next to this checkout.
FALLBACK_FIELDS = {("TrainingConfig", f) for f in (
    "num_epochs", "batch_size", "learning_rate", "validation_frequency", "checkpoint_frequency",
    "conservation_config", "quantum_config", "optimizer", "early_stopping_patience",
    "weight_decay")} | {("ModularTrainer", "error_recovery"), ("RADConfig", "beta")}


def guide_text():
  for path in GUIDE_CANDIDATES:
    if os.path.exists(path):
      return read(path)
  return None


def guide_fields(text):
  """{(object, field)} from the guide's python blocks: keyword arguments of every
  ``*Config(...)`` call, keys of the ``config={...}`` dicts of ErrorRecoveryManager
  and FlexibleOptimizerFactory, and the keys of ModularTrainer's ``components``."""
  fields = set()
  for _, blocks in sections(text):
    for lang, code in blocks:
      if lang != "python":
        continue
      for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
          continue
        name = node.func.id
        for kw in node.keywords:
          if name.endswith("Config"):
            fields.add((name, kw.arg))
          elif isinstance(kw.value, ast.Dict) and kw.arg in ("config", "components"):
            fields.update((name, k.value) for k in kw.value.keys)
  return fields


def mapping_rows(text):
  body = text.split(f"## {MAPPING}", 1)[1]
  rows = []
  for line in body.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if line.startswith("|") and len(cells) >= 3 and not set(cells[0]) <= set("-"):
      rows.append(cells)
  return rows


def title_key(title):
  return re.sub(r"\*\*.*?\*\*|[^\w\s()-]", "", title).strip()


def test_every_guide_section_with_code_has_its_section_here():
  text = guide_text()
  if text is None:
    pytest.skip("the Opifex training guide (shared/reference) is not next to this checkout")
  ours = {title_key(t) for t, _ in sections(read(DOC))}
  theirs = [title_key(t) for t, b in sections(text) if any(lang == "python" for lang, _ in b)]
  assert len(theirs) >= 14 and not [t for t in theirs if t not in ours]


def test_mapping_table_names_every_field_of_the_guide():
  text = guide_text()
  fields = FALLBACK_FIELDS if text is None else guide_fields(text)
  training = {f for o, f in fields if o == "TrainingConfig"}
  assert {"num_epochs", "batch_size", "learning_rate", "early_stopping_patience"} <= training
  assert ("ModularTrainer", "error_recovery") in fields and ("RADConfig", "beta") in fields
  rows = mapping_rows(read(DOC))
  table = {(re.sub(r"[`*]", "", r[0]), re.sub(r"[`*]", "", r[1])) for r in rows}
  missing = sorted(f for f in fields if f not in table)
  assert not missing, f"the mapping table lacks rows for {missing}"
  for obj, field in fields:  # every row says what to use instead (or that nothing exists yet)
    row = next(r for r in rows if (re.sub(r"[`*]", "", r[0]), re.sub(r"[`*]", "", r[1])) == (obj, field))
    assert row[2], (obj, field)
  # The configuration objects the guide lists in prose have rows too.
  if text is None:
    return
  listed = set(re.findall(r"- `(\w+Config)`", text))
  assert "MultiScaleConfig" in listed
  assert listed <= {o for o, _ in table}, listed - {o for o, _ in table}
