"""Shared schema pieces: the ``{"data": ...}`` envelope, pagination, strict request models."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class Data(BaseModel, Generic[T]):
    """Mux's response envelope."""

    data: T


class StrictModel(BaseModel):
    """Request bodies: unknown fields are errors that name the field."""

    model_config = ConfigDict(extra="forbid")


class NewAssetOptions(StrictModel):
    """Requests that make a new asset from another (reframe, effects): its ``playback_policy`` (one or a
    list) and ``passthrough``; each route says what they default to."""

    playback_policy: list[Literal["public", "signed"]] | None = Field(None, max_length=5)
    passthrough: str | None = Field(None, max_length=255)

    @field_validator("playback_policy", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Page(BaseModel):
    """``limit`` (1-100, default 25) and ``page`` (1-based), as Mux's list endpoints."""

    limit: int
    page: int

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.limit


def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 25,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
) -> Page:
    """Pagination query parameters."""
    return Page(limit=limit, page=page)
