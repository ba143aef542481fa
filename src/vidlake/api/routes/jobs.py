"""Jobs of an environment (``/system/v1/jobs``): inspect and cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Data, Page, page_params
from vidlake.api.schemas.system import JobPublic
from vidlake.api.serialize import ts, ts_opt
from vidlake.core.errors import NotFound
from vidlake.db.models import Job
from vidlake.jobs import queue

router = APIRouter(prefix="/system/v1/jobs", tags=["jobs"])


def job_public(j: Job) -> JobPublic:
    """API view of a job row."""
    return JobPublic(id=j.id, kind=j.kind, state=j.state, progress=round(j.progress, 2), attempts=j.attempts,
                     max_attempts=j.max_attempts, last_error=j.last_error, result=j.result,
                     created_at=ts(j.created_at), started_at=ts_opt(j.started_at), finished_at=ts_opt(j.finished_at))


@router.get("")
def list_jobs(
    principal: PrincipalDep,
    session: SessionDep,
    page: Page = Depends(page_params),
    state: Annotated[str | None, Query(pattern="^(queued|running|succeeded|failed|cancelled|dead)$")] = None,
) -> Data[list[JobPublic]]:
    """Jobs of the caller's environment, newest first."""
    query = select(Job).where(Job.environment_id == principal.environment_id)
    if state:
        query = query.where(Job.state == state)
    rows = session.scalars(query.order_by(Job.created_at.desc()).offset(page.offset).limit(page.limit))
    return Data(data=[job_public(j) for j in rows])


@router.get("/{job_id}")
def get_job(job_id: str, principal: PrincipalDep, session: SessionDep) -> Data[JobPublic]:
    """One job."""
    job = session.get(Job, job_id)
    if job is None or job.environment_id != principal.environment_id:
        raise NotFound(f"job {job_id!r} not found")
    return Data(data=job_public(job))


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> Data[JobPublic]:
    """Cancel: at once when queued, at the next heartbeat when running."""
    queue.cancel(services.db, job_id, principal.environment_id)
    with services.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return Data(data=job_public(job))
