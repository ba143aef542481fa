"""Schemas for environments, access tokens, webhooks and jobs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from vidlake.api.schemas.common import StrictModel


class EnvironmentCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)


class EnvironmentPublic(BaseModel):
    id: str
    name: str
    created_at: str


class AccessTokenCreate(StrictModel):
    name: str = Field("", max_length=200)
    permission: Literal["full", "read_only"] = "full"


class AccessTokenPublic(BaseModel):
    id: str
    name: str
    environment_id: str
    permission: str
    created_at: str
    revoked: bool
    secret: str | None = Field(None, description="Only in the response that created the token.")


class EnvironmentCreated(EnvironmentPublic):
    access_token: AccessTokenPublic


class WebhookCreate(StrictModel):
    url: str = Field(min_length=1, max_length=2048)


class WebhookPublic(BaseModel):
    id: str
    url: str
    created_at: str
    secret: str | None = Field(None, description="Signing secret; only in the creating response.")


class JobPublic(BaseModel):
    id: str
    kind: str
    state: str
    progress: float = Field(description="Percent, 0-100.")
    attempts: int
    max_attempts: int
    last_error: str | None
    result: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None
