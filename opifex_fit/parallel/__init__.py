"""Data parallelism: placing the state and the data on a mesh."""
