"""JSON Schema for the models, so scripts in any language can validate output."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ocitool.models import (
    Blocker,
    Container,
    EngineInfo,
    Image,
    ImageConfig,
    Layer,
    RemoveResult,
    RunResult,
    SearchResult,
    TransferResult,
)


class ImageRef(BaseModel):
    """An image reference as ocitool splits it (ocitool.references.ImageRef)."""

    domain: str | None = None
    path: str
    tag: str | None = None
    digest: str | None = None


MODELS = (
    Image,
    ImageConfig,
    Layer,
    Container,
    EngineInfo,
    ImageRef,
    RemoveResult,
    Blocker,
    RunResult,
    TransferResult,
    SearchResult,
)


def json_schema() -> dict[str, Any]:
    """One document whose `$defs` hold every model ocitool prints."""
    _, doc = models_json_schema(
        [(model, "serialization") for model in MODELS],
        title="ocitool models",
    )
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return doc
