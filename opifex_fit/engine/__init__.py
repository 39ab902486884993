"""The engine: the fit loop, the K-step chunk, the fit plan, the TrainState and
its services (modes, snapshots, loss-weight view, compilation cache)."""
