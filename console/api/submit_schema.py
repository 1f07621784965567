"""The signed envelope's JSON Schema, for the OpenAPI document (the server checks it in code)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from patches.patch_types import PATCH_TYPE_NAMES


def envelope_schema() -> dict[str, Any]:
    """The schema with today's limits from settings."""
    schema = _ENVELOPE_SCHEMA
    proposal = schema["properties"]["proposal"]["properties"]
    proposal["reasoning"]["maxLength"] = settings.API_MAX_REASONING_CHARS
    proposal["test_requirements"]["maxItems"] = settings.API_MAX_TEST_REQUIREMENTS
    return schema


_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["proposal", "signature"],
    "properties": {
        "proposal": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "patch_type",
                "target",
                "base_version",
                "patch",
                "reasoning",
                "test_requirements",
                "nonce",
            ],
            "properties": {
                "patch_type": {
                    "type": "string",
                    "enum": list(PATCH_TYPE_NAMES),
                },
                "target": {"type": "string", "minLength": 1},
                "base_version": {"type": "integer", "minimum": 1, "maximum": 2**53 - 1},
                "patch": {
                    "type": "string",
                    "description": "a unified diff (Prompt) or an RFC 6902 JSON Patch as a string",
                },
                "reasoning": {
                    "type": "string",
                    "minLength": 1,
                    "pattern": "[^ \\t\\r\\n]",
                    "description": "why; not blank",
                },
                "test_requirements": {"type": "array", "items": {"type": "string"}},
                "nonce": {"type": "string", "pattern": "^[0-9a-f]{32,128}$"},
                "revises": {
                    "type": "string",
                    "pattern": "^sha256:[0-9a-f]{64}$",
                    "description": "a revision: the patch_hash of this agent's open proposal "
                    "on the same target that it replaces (signed like every field)",
                },
            },
        },
        "signature": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key_id", "algorithm", "value"],
            "properties": {
                "key_id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "algorithm": {"type": "string", "enum": ["ed25519"]},
                "value": {
                    "type": "string",
                    "description": "base64 Ed25519 signature over canonical(proposal) (RFC 8785)",
                },
            },
        },
    },
}
