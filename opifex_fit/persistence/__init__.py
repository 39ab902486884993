"""Weight files and the checkpoint tree format."""
