"""Hydra finds this package's config groups through its search-path plugin."""
