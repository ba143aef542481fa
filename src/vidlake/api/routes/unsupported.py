"""Mux operations Vidlake does not offer, answered in Mux's error shape with the reason (HTTP 400,
``type: not_supported``), so SDK users see why instead of a bare 404/405.

Spaces: deprecated by Mux (real-time rooms, closed in 2023). DRM configurations: DRM needs Widevine,
FairPlay and PlayReady licence servers and vendor certificates a self-hosted server does not have.
"""

from __future__ import annotations

from fastapi import APIRouter

from vidlake.api.deps import PrincipalDep
from vidlake.core.errors import NotSupported

TAG = "not supported"
router = APIRouter(tags=[TAG])

_REASONS = {
    "spaces": "spaces are not supported: Mux deprecated Spaces (real-time video rooms); "
              "use live streams (RTMP/SRT) instead",
    "drm-configurations": "DRM is not supported: it needs Widevine/FairPlay/PlayReady licence servers "
                          "and vendor certificates; use signed playback ids instead",
}

#: (method, path) of every operation answered here (mux-python's SpacesApi, DRMConfigurationsApi).
OPERATIONS = (
    ("POST", "/video/v1/spaces"), ("GET", "/video/v1/spaces"), ("GET", "/video/v1/spaces/{space_id}"),
    ("DELETE", "/video/v1/spaces/{space_id}"), ("POST", "/video/v1/spaces/{space_id}/broadcasts"),
    ("GET", "/video/v1/spaces/{space_id}/broadcasts/{broadcast_id}"),
    ("DELETE", "/video/v1/spaces/{space_id}/broadcasts/{broadcast_id}"),
    ("POST", "/video/v1/spaces/{space_id}/broadcasts/{broadcast_id}/start"),
    ("POST", "/video/v1/spaces/{space_id}/broadcasts/{broadcast_id}/stop"),
    ("GET", "/video/v1/drm-configurations"), ("GET", "/video/v1/drm-configurations/{drm_configuration_id}"),
)


def _answer(resource: str) -> object:
    def handler(principal: PrincipalDep) -> None:
        raise NotSupported(_REASONS[resource])

    handler.__doc__ = _REASONS[resource]
    return handler


for _method, _path in OPERATIONS:
    _resource = _path.split("/")[3]
    router.add_api_route(_path, _answer(_resource), methods=[_method],  # type: ignore[arg-type]
                         name=f"unsupported {_method} {_path}", status_code=400)
