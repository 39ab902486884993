"""Models: MLP, FNO, DeepONet, InvariantPES."""
from opifex_fit.models.deeponet import DeepONet
from opifex_fit.models.fno import FNO, SpectralConv
from opifex_fit.models.mlp import MLP
from opifex_fit.models.invariant_pes import InvariantPES
