"""JSON Schema for the models, so scripts in any language can validate output.

`$defs` holds every model; `outputs` says which of them each `--format json`
command prints (one object or an array of them), so a script can check a
command's output against `{"$defs": ..., **outputs[command]}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ocitool.models import (
    Blocker,
    ConfigChange,
    Container,
    EngineInfo,
    FileAnalysis,
    FileChange,
    Image,
    ImageConfig,
    ImageDiff,
    ImageUsage,
    KeptImage,
    Layer,
    LayerFiles,
    LayerUsage,
    PruneResult,
    RemoveResult,
    RunResult,
    SearchResult,
    StoreGarbage,
    TransferResult,
    TreeNode,
    UsageReport,
)


class ImageRef(BaseModel):
    """An image reference as ocitool splits it (ocitool.references.ImageRef)."""

    domain: str | None = None
    path: str
    tag: str | None = None
    digest: str | None = None


MODELS: tuple[type[BaseModel], ...] = (
    Image,
    ImageConfig,
    Layer,
    Container,
    EngineInfo,
    ImageRef,
    RemoveResult,
    Blocker,
    PruneResult,
    KeptImage,
    StoreGarbage,
    RunResult,
    TransferResult,
    SearchResult,
    LayerUsage,
    ImageUsage,
    UsageReport,
    TreeNode,
    FileChange,
    LayerFiles,
    FileAnalysis,
    ConfigChange,
    ImageDiff,
)

ONE, MANY, ONE_OR_MANY = "one", "many", "one-or-many"

# command (as typed, options that change the output included) -> (model, how many)
OUTPUTS: dict[str, tuple[type[BaseModel], str]] = {
    "backends": (EngineInfo, MANY),
    "images": (Image, MANY),
    "inspect": (Image, MANY),
    "history": (Layer, MANY),
    "ps": (Container, MANY),
    "import": (Image, ONE),
    "commit": (Image, ONE),
    "tag": (Image, ONE),
    "rmi": (RemoveResult, ONE),
    "prune": (PruneResult, ONE),
    "push": (TransferResult, ONE),
    "pull": (TransferResult, ONE),
    "copy": (TransferResult, ONE),
    "load": (TransferResult, ONE_OR_MANY),  # one object for one image, else an array
    "search": (SearchResult, MANY),
    "du": (UsageReport, ONE),
    "df": (UsageReport, ONE),
    "tree": (TreeNode, MANY),
    "layers": (LayerUsage, MANY),
    "layers --files": (FileAnalysis, ONE),
    "diff": (ImageDiff, ONE),
    "diff --files": (ImageDiff, ONE),
}


def json_schema() -> dict[str, Any]:
    """One document whose `$defs` hold every model ocitool prints, and whose `outputs`
    name the schema of each command's `--format json` document."""
    _, doc = models_json_schema(
        [(model, "serialization") for model in MODELS],
        title="ocitool models",
    )
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["outputs"] = {command: _output(*shape) for command, shape in OUTPUTS.items()}
    return doc


def _output(model: type[BaseModel], count: str) -> dict[str, Any]:
    one: dict[str, Any] = {"$ref": f"#/$defs/{model.__name__}"}
    many: dict[str, Any] = {"type": "array", "items": one}
    return {ONE: one, MANY: many, ONE_OR_MANY: {"anyOf": [one, many]}}[count]
