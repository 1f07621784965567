"""test_create defines tests as data from the command line, refusing bad input clearly."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from patches.models import TestDefinition
from tests.testgate.conftest import target_of

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("test_create", *args, stdout=out)
    return out.getvalue()


def params_file(tmp_path, value) -> str:
    path = tmp_path / "params.json"
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def test_it_creates_a_test_mandatory_for_targets_and_prints_json(tmp_path):
    target = target_of("Routing")
    cases = {"cases": [{"input": "my invoice", "expect": "billing"}]}
    out = run(
        "routing-smoke",
        "--kind",
        "routing_cases",
        "--params-file",
        params_file(tmp_path, cases),
        "--mandatory-for",
        target.name,
        "--patch-types",
        "Routing",
        "--timeout",
        "5",
    )
    assert json.loads(out) == {"name": "routing-smoke", "kind": "routing_cases"}
    definition = TestDefinition.objects.get(name="routing-smoke")
    assert (definition.params, definition.patch_types, definition.timeout_s) == (
        cases,
        ["Routing"],
        5,
    )
    assert list(target.mandatory_tests.values_list("name", flat=True)) == ["routing-smoke"]


@pytest.mark.parametrize(
    ("args", "params", "message"),
    [
        (["--kind", "max_length"], {"chars": -1}, "param 'chars' must be a positive integer"),
        (["--kind", "text_regex"], {"pattern": "(("}, "not a valid regular expression"),
        (["--kind", "placeholders"], "{not json", "is not valid JSON"),
        (["--kind", "placeholders", "--mandatory-for", "ghost"], {}, "unknown targets: ghost"),
        (["--kind", "placeholders", "--patch-types", "Prose"], {}, "unknown patch types Prose"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(tmp_path, args, params, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("bad-test", "--params-file", params_file(tmp_path, params), *args)
    assert not TestDefinition.objects.exists()


def test_it_refuses_a_taken_name_and_a_missing_file(tmp_path):
    run("dup", "--kind", "placeholders", "--params-file", params_file(tmp_path, {}))
    with pytest.raises(CommandError, match="a test named 'dup' already exists"):
        run("dup", "--kind", "placeholders", "--params-file", params_file(tmp_path, {}))
    with pytest.raises(CommandError, match="cannot read params file"):
        run("other", "--kind", "placeholders", "--params-file", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="is not a slug"):
        run("not a slug", "--kind", "placeholders", "--params-file", params_file(tmp_path, {}))


def test_it_offers_a_test_to_targets_whose_agents_may_then_name_it(tmp_path):
    offering = target_of("Routing")
    other = target_of("Prompt")
    out = run(
        "lint",
        "--kind",
        "command",
        "--params-file",
        params_file(tmp_path, {"argv": ["true"], "timeout_s": 5}),
        "--offered-for",
        offering.name,
    )
    assert json.loads(out) == {"name": "lint", "kind": "command"}
    assert list(offering.offered_tests.values_list("name", flat=True)) == ["lint"]
    assert not offering.mandatory_tests.exists()
    assert not other.offered_tests.exists() and not other.mandatory_tests.exists()
    with pytest.raises(CommandError, match="unknown targets: ghost"):
        run("lint2", "--kind", "placeholders", "--params-file", params_file(tmp_path, {}),
            "--offered-for", "ghost")  # fmt: skip
