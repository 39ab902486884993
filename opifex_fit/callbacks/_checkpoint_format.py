"""The checkpoint's metadata and the checks that a directory fits a learner
(``cb.Checkpoint``): what was saved, what must match, where arrays go back."""

from __future__ import annotations

import jax
import orbax.checkpoint as ocp

from opifex_fit.parallel import sharding
from opifex_fit.persistence import saving

# Differences in these fields mean another model/optimizer/problem: always refused.
MODEL_FIELDS = {"params": "model parameters", "rest": "other model state",
                "opt_state": "optimizer state", "loss_weights": "loss terms"}
# Differences here (other data sizes, batch size) only matter when resuming.
DATA_FIELDS = {"data": "training data", "perm": "minibatch order (batch size and data size)"}


def metadata(learner, s, model_name: str) -> dict:
  """Versions, model/problem summary and the structure of the logical state ``s``."""
  import flax  # noqa: PLC0415 - versions only
  import opifex_fit  # noqa: PLC0415 - the package's own version, without a cycle
  return {
      "format": 1, "opifex_fit": opifex_fit.__version__, "jax": jax.__version__,
      "flax": flax.__version__, "orbax": ocp.__version__,
      "model": model_name,
      "num_params": int(sum(a.size for a in jax.tree.leaves(s.params))),
      "problem": type(learner.problem).__name__, "loss_terms": list(learner.term_names()),
      "structure": {f: saving.structure(getattr(s, f)) for f in {**MODEL_FIELDS, **DATA_FIELDS}},
  }


def check_compatible(directory, step, metadata, state, fields) -> None:
  """ValueError listing every field of ``fields`` whose saved structure differs."""
  saved = metadata.get("structure", {})
  lines = []
  for field, label in fields.items():
    diff = saving.differences(saved.get(field, {}), saving.structure(getattr(state, field)))
    lines += [f"{label} ({field}) {line}" for line in diff]
  if lines:
    raise ValueError(
        f"Checkpoint: directory={directory!r} holds a checkpoint (step {step}, "
        f"model {metadata.get('model')}, problem {metadata.get('problem')}) that does not "
        "match this learner:\n  " + "\n  ".join(lines) +
        "\nUse another directory for a different model, optimizer or data.")


def restore_target(learner, metadata):
  """Where the arrays go: the data as one device holds it, or the padded data
  for an older checkpoint that stored it padded (same device count only)."""
  logical = sharding.logical_state(learner)
  saved = metadata.get("structure", {}).get("data", {})
  if saving.differences(saved, saving.structure(logical.data)) and \
      not saving.differences(saved, saving.structure(learner.state.data)):
    return learner.state
  return logical
