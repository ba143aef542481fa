"""Vidlake: a self-hosted video cloud."""

__version__ = "0.1.0"
