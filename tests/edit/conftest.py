"""Fixtures of the editing tests (helpers live in ``edit_media``: a module name unique in the suite)."""

from edit_media import media

__all__ = ["media"]
