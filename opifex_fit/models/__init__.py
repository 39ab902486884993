"""Models: MLP, FNO, DeepONet."""
from opifex_fit.models.deeponet import DeepONet
from opifex_fit.models.fno import FNO, SpectralConv
from opifex_fit.models.mlp import MLP
