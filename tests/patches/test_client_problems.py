"""The client raises one exception class per problem type the console answers with."""

from __future__ import annotations

import pytest

from console.api.problems import KINDS
from patches.client import problems
from patches.client.problems import ApiError, NotFound, StaleBase, problem_error


@pytest.mark.parametrize("slug", sorted(KINDS))
def test_every_problem_type_the_console_declares_has_its_own_exception_class(slug):
    kind = KINDS[slug]
    body = {"type": kind.type, "title": kind.title, "status": kind.status, "detail": "why"}
    error = problem_error(kind.status, body, {})
    assert type(error) is not ApiError, f"no class for {slug} in patches/client/problems.py"
    assert isinstance(error, ApiError)
    assert error.slug == slug and error.status == kind.status
    assert error.title == kind.title and error.detail == "why"


def test_a_type_the_client_does_not_know_still_raises_an_api_error_with_its_slug():
    body = {"type": problems.PROBLEM_BASE + "from-the-future", "title": "New", "detail": "d"}
    error = problem_error(409, body, {})
    assert type(error) is ApiError and error.slug == "from-the-future" and error.status == 409


def test_an_answer_without_a_problem_document_raises_a_plain_api_error():
    error = problem_error(502, {"detail": "<html>bad gateway</html>"}, {})
    assert type(error) is ApiError and error.slug == "" and "bad gateway" in str(error)


def test_the_client_raises_the_typed_error_for_a_real_answer(db, tmp_path, settings):
    from django.test import Client

    from patches.client import AgentClient
    from tests.factories import make_agent
    from tests.patches.test_client import django_transport

    agent = make_agent("typed")
    client = AgentClient(
        url="http://testserver", token=agent.token, transport=django_transport(Client())
    )
    with pytest.raises(NotFound) as raised:
        client.status(424242)
    assert raised.value.status == 404 and "424242" in raised.value.detail
    assert not issubclass(NotFound, StaleBase)
