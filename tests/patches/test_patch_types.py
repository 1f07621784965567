"""The patch type registry: one entry per model choice, with the kind, shape and diff language."""

from __future__ import annotations

import jsonschema
import pytest
from pygments.lexers import get_lexer_by_name

from patches.models import PatchType
from patches.patch_types import PATCH_TYPE_NAMES, UnknownPatchType, patch_type_spec
from patches.testgate.behaviour import decide, route
from tests.factories import ROUTING
from tests.standalone import frameworks_loaded_by


def test_every_model_choice_has_a_registry_entry_in_the_same_order():
    assert tuple(PatchType.values) == PATCH_TYPE_NAMES
    for name in PatchType.values:
        assert patch_type_spec(name).name == name


def test_prompts_are_text_and_every_other_type_is_json_as_design_says():
    kinds = {name: patch_type_spec(name).content_kind for name in PATCH_TYPE_NAMES}
    assert kinds == {
        "Prompt": "text",
        "Policy": "json",
        "Routing": "json",
        "Config": "json",
        "Tools": "json",
    }


def test_prompt_diffs_are_shown_as_markdown_and_json_diffs_as_json():
    languages = {name: patch_type_spec(name).diff_language for name in PATCH_TYPE_NAMES}
    assert languages == {
        "Prompt": "markdown",
        "Policy": "json",
        "Routing": "json",
        "Config": "json",
        "Tools": "json",
    }
    for language in languages.values():
        get_lexer_by_name(language)  # raises for a name Pygments does not know


@pytest.mark.parametrize("name", PATCH_TYPE_NAMES)
def test_every_json_type_has_a_valid_json_schema_and_text_has_none(name):
    spec = patch_type_spec(name)
    if spec.content_kind == "text":
        assert spec.schema is None
    else:
        assert spec.schema is not None
        jsonschema.Draft202012Validator.check_schema(spec.schema)


def test_routing_and_policy_are_evaluated_and_the_other_types_are_not():
    evaluators = {name: patch_type_spec(name).evaluator for name in PATCH_TYPE_NAMES}
    assert evaluators == {
        "Prompt": None,
        "Policy": decide,
        "Routing": route,
        "Config": None,
        "Tools": None,
    }
    assert patch_type_spec("Routing").evaluator(ROUTING, "where is my invoice") == "billing"


@pytest.mark.parametrize("name", ["Prose", "prompt", "", ["Prompt"]])
def test_an_unknown_type_name_raises_and_lists_the_known_ones(name):
    with pytest.raises(UnknownPatchType) as caught:
        patch_type_spec(name)
    assert str(caught.value) == (
        f"unknown patch type {name!r}: use one of Prompt, Policy, Routing, Config, Tools"
    )


def test_the_registry_imports_nothing_from_django():
    # The stand-alone verifier replays targets with it, outside any Django project.
    assert frameworks_loaded_by("patches.patch_types") == []
