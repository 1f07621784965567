"""replay: rebuilds every target from genesis and the logged patches, and names the first mismatch."""

from __future__ import annotations

from django.db import connection

from audit.replay import targets_replay
from patches.models import Target, TargetVersion
from tests.audit.conftest import History, run_command


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_scripted_history_replays_to_the_same_hashes(history: History) -> None:
    code, out, err = run_command("replay")
    assert (code, out.strip()) == (
        0,
        "OK replayed 3 targets, 7 versions, 3 labels, 4 label moves",
    ), err
    assert Target.objects.get(name="routing").version == 3


def test_an_empty_console_replays(db: None) -> None:
    assert run_command("replay")[:2] == (
        0,
        "OK replayed 0 targets, 0 versions, 0 labels, 0 label moves\n",
    )


def test_a_tampered_version_is_named(history: History) -> None:
    row = TargetVersion.objects.get(target__name="routing", version=2)
    _sql(
        "UPDATE patches_targetversion SET content = %s WHERE id = %s",
        [row.content.replace("1.5", "1.25"), row.pk],
    )
    code, _, err = run_command("replay")
    assert code == 1
    assert (
        err.strip()
        == "FAIL replay at target routing version 2: the stored version differs from the rebuilt content"
    )


def test_a_tampered_genesis_is_named(history: History) -> None:
    row = TargetVersion.objects.get(target__name="settings", version=1)
    _sql(
        "UPDATE patches_targetversion SET content = %s WHERE id = %s",
        [row.content.replace("hello", "howdy"), row.pk],
    )
    code, _, err = run_command("replay")
    assert (code, err.strip()) == (
        1,
        "FAIL replay at target settings version 1: genesis content does not match the TargetCreated content_hash",
    )


def test_a_wrong_inverse_patch_is_named(history: History) -> None:
    row = TargetVersion.objects.get(target__name="routing", version=3)
    _sql(
        "UPDATE patches_targetversion SET inverse_patch = %s WHERE id = %s",
        ['[{"op":"remove","path":"/routes/billing/keywords/chargeback"}]', row.pk],
    )
    code, _, err = run_command("replay")
    assert (code, err.strip()) == (
        1,
        "FAIL replay at target routing version 3: the stored inverse patch does not restore version 2",
    )


def test_a_changed_proposal_envelope_is_named(history: History) -> None:
    proposal = next(p for p in history.applied if p.target.name == "settings")
    _sql(
        "UPDATE patches_proposal SET envelope = %s WHERE id = %s",
        [proposal.envelope.replace("600", "6000"), proposal.pk],
    )
    code, _, err = run_command("replay")
    assert code == 1
    assert err.strip().startswith(
        "FAIL replay at target settings version 2: the patch does not apply: stored envelope"
    )


def test_a_version_without_its_event_is_named(history: History) -> None:
    target = Target.objects.get(name="settings")
    TargetVersion.objects.create(
        target=target, version=3, content="{}", content_hash="sha256:" + "0" * 64
    )
    result = run_command("replay")
    assert result[0] == 1
    assert (
        "target settings version 3: this version is stored but no PatchApplied event logs it"
        in result[2]
    )


def test_the_result_counts_every_version(history: History) -> None:
    result = targets_replay()
    assert (result.targets, result.versions) == (3, TargetVersion.objects.count())


def test_a_tampered_prompt_version_is_named(history: History) -> None:
    row = TargetVersion.objects.get(target__name="system_prompt", version=2)
    _sql(
        "UPDATE patches_targetversion SET content = %s WHERE id = %s",
        [row.content.replace("briefly", "brusquely"), row.pk],
    )
    code, _, err = run_command("replay")
    assert (code, err.strip()) == (
        1,
        "FAIL replay at target system_prompt version 2: "
        "the stored version differs from the rebuilt content",
    )
