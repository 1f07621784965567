"""Pages keep the strict CSP: nonce'd scripts only, no inline styles or handlers, htmx locked down."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.console.conftest import client_for, in_review

INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)


def _check_page(response) -> None:  # type: ignore[no-untyped-def]
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert "script-src 'self' 'nonce-" in policy and "'unsafe-inline'" not in policy
    html = response.content.decode()
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTR.search(html)
    scripts = SCRIPT_TAG.findall(html)
    assert scripts, "htmx and console.js are loaded"
    for attributes, body in scripts:
        assert f'nonce="{nonce}"' in attributes and "src=" in attributes and not body.strip()


@pytest.mark.parametrize(
    "url",
    ["/", "/?status=all", "/targets/", "/targets/system_prompt/", "/events/", "/agents/",
     "/targets/system_prompt/compare/1..2/"],
)  # fmt: skip
def test_every_page_is_strict_csp_clean(agent, target, alice, rita, url):
    proposal = in_review(agent, target)
    client_for(rita).post(
        f"/proposals/{proposal.pk}/",
        {"decision": "approve", "reason": "ok", "patch_hash": proposal.patch_hash,
         "base_content_hash": proposal.base_content_hash},
    )  # fmt: skip
    _check_page(client_for(alice).get(url))
    _check_page(client_for(alice).get(f"/proposals/{proposal.pk}/"))


def test_the_login_page_is_strict_csp_clean(db):
    _check_page(Client().get("/accounts/login/"))


def test_htmx_is_configured_for_the_csp_and_sends_the_csrf_token(rita):
    html = client_for(rita).get("/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html).group(1)  # type: ignore[union-attr]
    assert '"includeIndicatorStyles": false' in config
    assert '"allowEval": false' in config and '"allowScriptTags": false' in config
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]{32,}\"\}'", html)
    assert "django_htmx/htmx-2.min.js" in html
