"""The event log and signed webhook delivery."""

from vidlake.events.outbox import emit

__all__ = ["emit"]
