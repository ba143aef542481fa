"""Direct uploads of an environment (``/video/v1/uploads``), shaped like Mux's Direct Uploads API.

The bytes themselves go to the upload's ``url`` (``api/routes/upload_data.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Data, Page, page_params
from vidlake.api.schemas.uploads import UploadCreate, UploadPublic
from vidlake.vod import uploads

router = APIRouter(prefix="/video/v1/uploads", tags=["uploads"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model_exclude_none=True)
def create_direct_upload(body: UploadCreate, principal: PrincipalDep, session: SessionDep,
                         services: ServicesDep) -> Data[UploadPublic]:
    """Create an upload URL; the asset is created with ``new_asset_settings`` once every byte is in."""
    public_url = services.settings.public_url
    upload = uploads.create_upload(
        session, principal.environment_id, body.new_asset_settings.model_dump(exclude_none=True),
        public_url=public_url, cors_origin=body.cors_origin, timeout_s=body.timeout, test=body.test,
    )
    return Data(data=UploadPublic(**uploads.upload_public(upload, public_url)))


@router.get("", response_model_exclude_none=True)
def list_direct_uploads(principal: PrincipalDep, session: SessionDep, services: ServicesDep,
                        page: Page = Depends(page_params)) -> Data[list[UploadPublic]]:
    """The environment's uploads, newest first."""
    rows = uploads.list_uploads(session, principal.environment_id, services.settings.data_dir,
                                limit=page.limit, offset=page.offset)
    public_url = services.settings.public_url
    return Data(data=[UploadPublic(**uploads.upload_public(u, public_url)) for u in rows])


@router.get("/{upload_id}", response_model_exclude_none=True)
def get_direct_upload(upload_id: str, principal: PrincipalDep, session: SessionDep,
                      services: ServicesDep) -> Data[UploadPublic]:
    """One upload (``asset_id`` is set once its asset exists)."""
    upload = uploads.get_upload(session, principal.environment_id, upload_id, services.settings.data_dir)
    return Data(data=UploadPublic(**uploads.upload_public(upload, services.settings.public_url)))


@router.put("/{upload_id}/cancel", response_model_exclude_none=True)
def cancel_direct_upload(upload_id: str, principal: PrincipalDep, session: SessionDep,
                         services: ServicesDep) -> Data[UploadPublic]:
    """Cancel a waiting upload: no asset will be created from it (Mux uses PUT here)."""
    settings = services.settings
    upload = uploads.get_upload(session, principal.environment_id, upload_id, settings.data_dir)
    uploads.cancel_upload(session, upload, data_dir=settings.data_dir, public_url=settings.public_url)
    return Data(data=UploadPublic(**uploads.upload_public(upload, settings.public_url)))
