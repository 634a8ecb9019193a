"""JSON Schema for the models, so scripts in any language can validate output.

`$defs` holds every model; `outputs` says which of them each `--format json`
command prints (one object or an array of them), so a script can check a
command's output against `{"$defs": ..., **outputs[command]}`; the document's
root accepts exactly the documents some command prints, and nothing else.
`progress` is the schema of each line `--progress json` writes to stderr.
`version` is the contract's version (docs/json.md says what changes it).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from ocitool.models import (
    Blocker,
    BuildEventLine,
    BuildResult,
    BuildStep,
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
    LocatedImage,
    Mount,
    Platform,
    PruneResult,
    RemoveResult,
    RunResult,
    SearchResult,
    StoreGarbage,
    TransferEvent,
    TransferResult,
    TreeNode,
    UsageReport,
)


class ImageRef(BaseModel):
    """An image reference as ocitool splits it (ocitool.references.ImageRef)."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    domain: str | None = None
    path: str
    tag: str | None = None
    digest: str | None = None


MODELS: tuple[type[BaseModel], ...] = (
    Image,
    BuildResult,
    BuildStep,
    ImageConfig,
    Layer,
    Container,
    Mount,
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
    LocatedImage,
    Platform,
    TransferEvent,
    BuildEventLine,
)

VERSION = 1
"""The JSON contract's version: raised only by a change that can break a reader."""

ONE, MANY = "one", "many"

# command (as typed, options that change the output included) -> (model, how many)
OUTPUTS: dict[str, tuple[type[BaseModel], str]] = {
    "backends": (EngineInfo, MANY),
    "images": (Image, MANY),
    "inspect": (Image, MANY),
    "inspect LOCATION": (LocatedImage, MANY),
    "tags": (SearchResult, ONE),
    "manifest": (LocatedImage, ONE),
    "manifest push": (TransferResult, MANY),  # a transfer: an array, as push
    "history": (Layer, MANY),
    "ps": (Container, MANY),
    "container inspect": (Container, MANY),
    "import": (Image, ONE),
    "commit": (Image, ONE),
    "tag": (Image, ONE),
    "rmi": (RemoveResult, ONE),
    "prune": (PruneResult, ONE),
    # every transfer prints one shape, an array, however many images it moved
    "push": (TransferResult, MANY),
    "pull": (TransferResult, MANY),
    "copy": (TransferResult, MANY),
    "save --report": (TransferResult, MANY),  # save's --format names the archive's format
    "load": (TransferResult, MANY),
    "search": (SearchResult, MANY),
    "du": (UsageReport, ONE),
    "df": (UsageReport, ONE),
    "tree": (TreeNode, MANY),
    "layers": (LayerUsage, MANY),
    "layers --files": (FileAnalysis, ONE),
    "diff": (ImageDiff, ONE),
    "diff --files": (ImageDiff, ONE),
    "mutate": (Image, ONE),  # the new image, as commit prints it
    "append": (Image, ONE),
    "flatten": (Image, ONE),
    "build": (BuildResult, ONE),
}


def json_schema() -> dict[str, Any]:
    """One document whose `$defs` hold every model ocitool prints, and whose `outputs`
    name the schema of each command's `--format json` document."""
    _, doc = models_json_schema(
        [(model, "serialization") for model in MODELS],
        title="ocitool models",
    )
    outputs = {command: _output(*shape) for command, shape in OUTPUTS.items()}
    distinct = {json.dumps(shape, sort_keys=True): shape for shape in outputs.values()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ocitool JSON output",
        "description": "The root accepts what some `--format json` command prints; "
        "`outputs` names each command's document, `$defs` every model.",
        "version": VERSION,
        "anyOf": list(distinct.values()),
        "outputs": outputs,
        # each line of --progress json: a transfer's, or a build's
        "progress": {
            "anyOf": [{"$ref": "#/$defs/TransferEvent"}, {"$ref": "#/$defs/BuildEventLine"}]
        },
        "$defs": doc["$defs"],
    }


def _output(model: type[BaseModel], count: str) -> dict[str, Any]:
    one: dict[str, Any] = {"$ref": f"#/$defs/{model.__name__}"}
    return one if count == ONE else {"type": "array", "items": one}
