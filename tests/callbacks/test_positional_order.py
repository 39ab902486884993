"""The positional argument orders of DESIGN section 1 (issue 12, L5)."""
import inspect

from opifex_fit import callbacks as cb


def positional(cls):
  params = inspect.signature(cls.__init__).parameters.values()
  return [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD][1:]


def test_early_stopping_positional_order():
  stopper = cb.EarlyStopping("loss", 4, 0.5, "max", 2.0, True, 30)
  assert (stopper.monitor, stopper.patience, stopper.min_delta, stopper.mode) == \
      ("loss", 4, 0.5, "max")
  assert (stopper.baseline, stopper.restore_best_weights, stopper.start_from_step) == \
      (2.0, True, 30)
  assert positional(cb.EarlyStopping) == ["monitor", "patience", "min_delta", "mode",
                                          "baseline", "restore_best_weights", "start_from_step"]


def test_reduce_lr_on_plateau_positional_order():
  plateau = cb.ReduceLROnPlateau("loss", 0.5, 3, 0.01)
  assert (plateau.monitor, plateau.factor, plateau.patience, plateau.min_lr_scale) == \
      ("loss", 0.5, 3, 0.01)
  assert positional(cb.ReduceLROnPlateau) == ["monitor", "factor", "patience", "min_lr_scale"]


def test_checkpoint_positional_order(tmp_path):
  ckpt = cb.Checkpoint(str(tmp_path), 7, 2, "val_loss", False)
  assert (ckpt.every, ckpt.max_to_keep, ckpt.monitor, ckpt.resume) == (7, 2, "val_loss", False)
  assert positional(cb.Checkpoint) == ["directory", "every", "max_to_keep", "monitor", "resume"]
