"""Export JSON Schemas of the envelope and every event type for integrators.

`python -m shared.events.schemas docs/events` writes one file per type; a test
checks the committed files equal what the models generate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.envelope import Envelope
from shared.events.catalogue import EVENT_TYPES


def generate() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for the envelope and each event type's data."""
    schemas: dict[str, dict[str, Any]] = {}
    envelope = Envelope.model_json_schema()
    envelope["$id"] = "envelope.schema.json"
    schemas["envelope.schema.json"] = envelope
    for cls in EVENT_TYPES.values():
        schema = cls.model_json_schema()
        name = f"{cls.cloudevents_type()}.schema.json"
        schema["$id"] = name
        schema["title"] = cls.cloudevents_type()
        schema["description"] = (cls.__doc__ or "").strip()
        schemas[name] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    """Stable text form of a schema (sorted keys, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every schema into `directory`, removing schema files no longer generated."""
    directory.mkdir(parents=True, exist_ok=True)
    schemas = generate()
    for stale in directory.glob("*.schema.json"):
        if stale.name not in schemas:
            stale.unlink()
    written = []
    for name, schema in sorted(schemas.items()):
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")
    for path in write(target):
        print(path)
