"""Vidlake's exception tree. The API turns each into a Mux-shaped JSON error.

::

    VidlakeError                      500 internal_error
    ├── InvalidParameters             400 invalid_parameters
    │   └── InvalidKey                400 a storage key that could escape the storage root
    ├── Unauthorized                  401 unauthorized
    ├── Forbidden                     403 forbidden
    ├── NotFound                      404 not_found
    ├── Conflict                      409 conflict
    ├── PayloadTooLarge               413 payload_too_large
    └── StorageError                  503 storage_unavailable
        ├── StorageFull               507 insufficient_storage
        └── ObjectNotFound (also FileNotFoundError)  404 not_found

Errors of the storage layer name internal keys (environment, asset, version) in their messages, for the
log; clients see only their ``public_message`` (see ``vidlake.api.errors``).
"""

from __future__ import annotations


class VidlakeError(Exception):
    """Base of every error Vidlake raises on purpose."""

    status_code = 500
    error_type = "internal_error"
    #: When set, what a client is told instead of ``messages`` (which then go to the log only).
    public_message: str | None = None

    def __init__(self, *messages: str) -> None:
        super().__init__(*(messages or (self.__class__.__doc__ or self.error_type,)))
        self.messages: list[str] = list(messages) or [str(self.__class__.__doc__ or self.error_type).strip()]


class InvalidParameters(VidlakeError, ValueError):
    """The request's parameters are invalid."""

    status_code = 400
    error_type = "invalid_parameters"


class InvalidKey(InvalidParameters):
    """A storage key that is not a plain relative path (raised by the storage layer)."""

    public_message = "invalid path"


class Unauthorized(VidlakeError):
    """Missing or invalid access token."""

    status_code = 401
    error_type = "unauthorized"


class Forbidden(VidlakeError, PermissionError):
    """The access token may not do this."""

    status_code = 403
    error_type = "forbidden"


class NotFound(VidlakeError, LookupError):
    """The resource does not exist."""

    status_code = 404
    error_type = "not_found"


class NotSupported(VidlakeError):
    """A Mux operation Vidlake does not offer (a 400, not a 5xx: SDKs retry 5xx answers)."""

    status_code = 400
    error_type = "not_supported"


class Conflict(VidlakeError):
    """The resource is not in a state that allows this."""

    status_code = 409
    error_type = "conflict"


class PayloadTooLarge(VidlakeError):
    """The request body is too large."""

    status_code = 413
    error_type = "payload_too_large"


class StorageError(VidlakeError, OSError):
    """Storage is unreachable or failed."""

    status_code = 503
    error_type = "storage_unavailable"
    public_message = "storage is unavailable; try again later"


class StorageFull(StorageError):
    """Storage has no space left."""

    status_code = 507
    error_type = "insufficient_storage"
    public_message = "storage is full"


class ObjectNotFound(StorageError, FileNotFoundError):
    """No object is stored under this key."""

    status_code = 404
    error_type = "not_found"
    public_message = "not found"
