"""Callbacks: every training feature, ordered on one loop."""
from opifex_fit.callbacks.base import Callback
from opifex_fit.callbacks.checkpoint import Checkpoint
from opifex_fit.callbacks.csv_logger import CSVLogger
from opifex_fit.callbacks.early_stopping import EarlyStopping
from opifex_fit.callbacks.gradnorm import GradNorm
from opifex_fit.callbacks.history import History
from opifex_fit.callbacks.lambda_callback import LambdaCallback
from opifex_fit.callbacks.loss_explosion_recovery import LossExplosionRecovery
from opifex_fit.callbacks.lr_annealing import LRAnnealing
from opifex_fit.callbacks.monitor import MonitorCallback
from opifex_fit.callbacks.ntk_diagnostics import NTKDiagnostics
from opifex_fit.callbacks.progress_bar import ProgressBar
from opifex_fit.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from opifex_fit.callbacks.reference_error import ReferenceSolution
from opifex_fit.callbacks.switch_optimizer import SwitchOptimizer
from opifex_fit.callbacks.tensorboard import TensorBoard
from opifex_fit.callbacks.terminate_on_nan import TerminateOnNaN
