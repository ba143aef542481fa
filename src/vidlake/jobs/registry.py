"""Job kinds, registered by name. A kind is a handler plus its policy (attempts, time limit)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vidlake.jobs.context import JobContext
    from vidlake.runtime import Services

Handler = Callable[["JobContext"], "dict[str, Any] | None"]
#: Called once when a job of the kind ends ``dead`` or ``failed``: (services, payload, last error).
FinalFailure = Callable[["Services", "dict[str, Any]", str], None]
#: Called in the transaction that records a job of the kind succeeded: (session, payload, result).
SuccessHook = Callable[["Session", "dict[str, Any]", "dict[str, Any] | None"], None]

#: Modules that register Vidlake's own job kinds; imported by every worker.
BUILTIN_MODULES = (
    "vidlake.jobs.builtin",
    "vidlake.events.webhooks",
    "vidlake.vod.pipeline",
    "vidlake.vod.static_on_demand",
    "vidlake.vod.master_access",
    "vidlake.analyze.jobs",
    "vidlake.edit.jobs",
    "vidlake.analyze.reframe_job",
    "vidlake.effects.jobs",
    "vidlake.speech.jobs",
    "vidlake.vod.audio_track_job",
    "vidlake.analytics.rollup",
    "vidlake.create.jobs",
)


@dataclass(frozen=True)
class JobKind:
    """A named kind of job.

    ``max_attempts`` and ``timeout_s`` (seconds) override the settings' defaults when set.
    """

    name: str
    handler: Handler
    max_attempts: int | None = None
    timeout_s: float | None = None
    priority: int = 0
    on_final_failure: FinalFailure | None = None


_KINDS: dict[str, JobKind] = {}
_SUCCESS_HOOKS: dict[str, list[SuccessHook]] = {}
_DEFAULTS = {"max_attempts": 5}


def set_default_max_attempts(value: int) -> None:
    """Attempts for kinds without their own policy (``VIDLAKE_JOB_MAX_ATTEMPTS``)."""
    _DEFAULTS["max_attempts"] = value


def default_max_attempts(name: str) -> int:
    """Attempts a new job of kind ``name`` gets."""
    kind = _KINDS.get(name)
    if kind is not None and kind.max_attempts is not None:
        return kind.max_attempts
    return _DEFAULTS["max_attempts"]


def job_kind(
    name: str,
    *,
    max_attempts: int | None = None,
    timeout_s: float | None = None,
    priority: int = 0,
    on_final_failure: FinalFailure | None = None,
) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler`` as the job kind ``name``.

    ``on_final_failure`` runs once when a job of this kind ends failed or dead (also when its last
    worker died and the maintenance loop ended it), e.g. to mark the asset it was making errored.
    """

    def register(handler: Handler) -> Handler:
        _KINDS[name] = JobKind(name, handler, max_attempts, timeout_s, priority, on_final_failure)
        return handler

    return register


def after_success(kind: str) -> Callable[[SuccessHook], SuccessHook]:
    """Decorator registering ``hook`` to run when a job of ``kind`` succeeds, in the transaction that
    records the success: follow-up work a higher layer owns (``analyze.jobs`` queues the automatic
    analyses after ``vod.process``) without the lower layer importing it. A hook that raises fails
    the attempt, which is then retried like any handler error."""

    def register(hook: SuccessHook) -> SuccessHook:
        hooks = _SUCCESS_HOOKS.setdefault(kind, [])
        if hook not in hooks:
            hooks.append(hook)
        return hook

    return register


def run_success_hooks(session: Session, kind: str, payload: dict[str, Any], result: dict[str, Any] | None) -> None:
    """Run the ``after_success`` hooks of ``kind`` inside ``session``."""
    for hook in _SUCCESS_HOOKS.get(kind, ()):
        hook(session, payload, result)


def get_kind(name: str) -> JobKind:
    """The registered kind ``name``. Raises ``KeyError``."""
    return _KINDS[name]


def final_failure(services: Services, kind: str, payload: dict[str, Any], error: str) -> None:
    """Run ``kind``'s final-failure hook, if any (errors are logged, never raised)."""
    import logging

    spec = _KINDS.get(kind)
    if spec is None or spec.on_final_failure is None:
        return
    try:
        spec.on_final_failure(services, payload, error)
    except Exception:
        logging.getLogger(__name__).exception("final-failure hook of %s failed", kind)


def known_kinds() -> list[str]:
    """Names of every registered kind."""
    return sorted(_KINDS)


def load_modules(extra: Iterable[str] = ()) -> None:
    """Import the modules that register job kinds (built-in plus ``extra``)."""
    for module in (*BUILTIN_MODULES, *extra):
        importlib.import_module(module)
