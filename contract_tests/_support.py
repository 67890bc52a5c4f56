"""What the contract tests share: the spec, validators of its schemas, the API's paths."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from wan_i2v import _spec_facts as facts

CREATE_PATH = facts.CREATE_PATH
GET_PATH = CREATE_PATH + "/{task_id}"
CONTRACT_KEY = "contract-test-key"

# The page's own example bodies, verbatim (shared/api-doc/...-create-generation-task.txt).
PAGE_CURL_EXAMPLE: dict[str, Any] = {
    "prompt": "<string>",
    "image": "<string>",
    "negative_prompt": "<string>",
    "resolution": "1080P",
    "duration": 5,
    "prompt_extend": True,
    "seed": 1073741823,
}
PAGE_BASIC: dict[str, Any] = {
    "prompt": "Flowers swaying in the wind",
    "image": "https://example.com/flower.jpg",
    "resolution": "1080P",
    "duration": 5,
}
PAGE_LAST_FRAME: dict[str, Any] = {
    "prompt": "Smooth transition between two scenes",
    "image": "https://example.com/start.jpg",
    "last_frame": "https://example.com/end.jpg",
    "resolution": "1080P",
    "duration": 5,
}
PAGE_NEGATIVE_PROMPT: dict[str, Any] = {
    "prompt": "Character turns head and smiles",
    "image": "https://example.com/portrait.jpg",
    "negative_prompt": "static, blurry",
    "resolution": "720P",
    "duration": 5,
}
PAGE_202: dict[str, Any] = {
    "task_info": {
        "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "status": "pending",
        "created_at": "2023-11-07T05:31:56Z",
        "updated_at": "2023-11-07T05:31:56Z",
    }
}


def spec_path() -> Path:
    """The spec under test: $WAN_I2V_SPEC, else this checkout's spec/openapi.yaml."""
    return Path(os.environ.get("WAN_I2V_SPEC") or Path(__file__).parents[1] / "spec/openapi.yaml")


@functools.cache
def _load() -> dict[str, Any]:
    with spec_path().open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def load_spec() -> dict[str, Any]:
    """A fresh copy of the parsed spec (tests may change theirs)."""
    return copy.deepcopy(_load())


def validator(schema_name: str, spec: dict[str, Any] | None = None) -> jsonschema.Validator:
    """A Draft 2020-12 validator of a component schema, its $refs resolved in the spec."""
    spec = spec if spec is not None else _load()
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    )


def is_valid(schema_name: str, instance: Any) -> bool:
    return bool(validator(schema_name).is_valid(instance))
