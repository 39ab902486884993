"""Models: MLP, FNO, DeepONet."""
from opifex_fit.models.mlp import MLP
