"""Inputs that stay off the device: host datasets, batch streams and their background prefetching."""
