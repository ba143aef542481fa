"""Environments and access tokens."""
