"""Problems: what a model is trained to satisfy."""
