"""Callbacks: every training feature, ordered on one loop."""
from opifex_fit.callbacks.base import Callback
