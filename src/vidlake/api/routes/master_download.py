"""``GET /master/{asset_id}/{token}/master.mp4``: the temporary master download (``vod.master_access``);
the token in the path is the credential, so no Basic auth. Byte ranges supported."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vidlake.api.deps import ServicesDep
from vidlake.core.errors import NotFound
from vidlake.deliver.serve import serve_key
from vidlake.vod.master_access import MASTER_NAME, master_file

router = APIRouter(tags=["master access"])


@router.get(f"/master/{{asset_id}}/{{token}}/{MASTER_NAME}")
def download_master(asset_id: str, token: str, request: Request, services: ServicesDep) -> Response:
    """The master MP4 while it is ready and not expired; 404 otherwise (an unknown token included)."""
    with services.db.session() as session:
        key = master_file(session, asset_id, token)
    if key is None:
        raise NotFound("no master download at this URL (expired, deleted or never made)")
    return serve_key(services, key, "video/mp4", {"Cache-Control": "private, no-store"},
                     request.headers.get("range"))
