"""Shared schema pieces: the ``{"data": ...}`` envelope, pagination, strict request models."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Data(BaseModel, Generic[T]):
    """Mux's response envelope."""

    data: T


class StrictModel(BaseModel):
    """Request bodies: unknown fields are errors that name the field."""

    model_config = ConfigDict(extra="forbid")


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
