"""opifex-fit: one jitted loop, every feature a callback."""
