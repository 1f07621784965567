"""The transparency log's settings: LOG_ORIGIN and WITNESSES are read strictly."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from console.env_tlog import envorigin, envwitnesses
from patches.client.tlog import SIG_COSIGNATURE, SIG_ED25519, Verifier


def _vkey(sig_type: int = SIG_COSIGNATURE) -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return Verifier(name="witness.test/w1", public_key=raw, sig_type=sig_type).vkey


def test_witnesses_are_read_with_and_without_a_url(monkeypatch):
    one, two = _vkey(), _vkey()
    monkeypatch.setenv("WITNESSES", f"{one} http://127.0.0.1:7380/, {two}")
    assert envwitnesses("WITNESSES") == [
        {"vkey": one, "name": "witness.test/w1", "url": "http://127.0.0.1:7380"},
        {"vkey": two, "name": "witness.test/w1", "url": ""},
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-a-vkey", "verifier key"),
        ("{log} http://x", "not a cosigner key"),
        ("{witness} ftp://x", "not an http(s) URL"),
        ("{witness} http://x http://y", "expected '<vkey> [<URL>]'"),
    ],
)
def test_a_bad_witness_setting_stops_startup_naming_it(monkeypatch, value, message):
    value = value.format(witness=_vkey(), log=_vkey(SIG_ED25519))
    monkeypatch.setenv("WITNESSES", value)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)) as raised:
        envwitnesses("WITNESSES")
    assert str(raised.value).startswith("WITNESSES: ")


def test_an_origin_with_a_space_or_a_plus_is_refused(monkeypatch):
    assert envorigin("LOG_ORIGIN", "a.test/log") == "a.test/log"
    for bad in ("a test/log", "a+b/log"):
        monkeypatch.setenv("LOG_ORIGIN", bad)
        with pytest.raises(ImproperlyConfigured, match="LOG_ORIGIN"):
            envorigin("LOG_ORIGIN", "a.test/log")
