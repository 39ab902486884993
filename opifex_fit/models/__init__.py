"""Models: MLP, FNO, DeepONet, jaxpi-style PINN architectures and InvariantPES.

Every model takes ``param_dtype`` (default float32; float64 needs
``jax_enable_x64``) and ``dtype`` (the computation dtype; None promotes).
"""
from opifex_fit.models.deeponet import DeepONet
from opifex_fit.models.dense import FactorizedDense, dense
from opifex_fit.models.embedding import EmbeddingChain
from opifex_fit.models.fno import FNO, SpectralConv
from opifex_fit.models.fourier_features import FourierFeatures
from opifex_fit.models.growth import GrownMLP, grow_fno, grow_mlp
from opifex_fit.models.invariant_pes import InvariantPES
from opifex_fit.models.mlp import MLP
from opifex_fit.models.modified_mlp import ModifiedMLP
from opifex_fit.models.periodic import PeriodicEmbedding
from opifex_fit.models.piratenet import PirateBlock, PirateNet

__all__ = ["FNO", "MLP", "DeepONet", "EmbeddingChain", "FactorizedDense", "FourierFeatures",
           "GrownMLP", "InvariantPES", "ModifiedMLP", "PeriodicEmbedding", "PirateBlock",
           "PirateNet", "SpectralConv", "dense", "grow_fno", "grow_mlp"]
