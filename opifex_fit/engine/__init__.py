"""The engine: the fit loop (``loop``), the K-step chunk (``chunk``), the fit
plan (``plan``) and its ``triggers``, the ``TrainState`` (``state``), evaluation
and prediction (``evaluation``), optimizers, loss terms and weights, step
hooks, and the services callbacks use (modes, snapshots, compilation cache).
It never imports ``opifex_fit.callbacks`` (``tests/test_layout.py``)."""
