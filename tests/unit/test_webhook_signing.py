"""Standard Webhooks signatures (webhooks.signing): secrets, headers, callback secrets."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from seedance_gateway.webhooks.signing import PREFIX, callback_secret, headers, new_secret

BODY = json.dumps({"type": "generation.succeeded", "data": {"id": "task_1"}})


def raw_key(secret: str) -> bytes:
    """The key bytes behind a ``whsec_`` secret."""
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    """``whsec_`` + strict base64 of 32 bytes, different every time."""
    first, second = new_secret(), new_secret()
    assert PREFIX == "whsec_"
    assert len(raw_key(first)) == 32
    assert len(raw_key(second)) == 32
    assert first != second


def test_headers_verify_with_the_standard_webhooks_library() -> None:
    """One secret: the reference verifier accepts the body and returns it parsed."""
    secret = new_secret()
    sent = headers("msg_1", BODY, [secret], datetime.now(UTC))
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert sent["webhook-id"] == "msg_1"
    assert Webhook(secret).verify(BODY, sent) == json.loads(BODY)


def test_a_moment_given_in_another_zone_signs_the_same_instant() -> None:
    """``at`` in +02:00 signs its UTC instant (the library would read the clock time as UTC)."""
    secret = new_secret()
    at = datetime.now(UTC).astimezone(timezone(timedelta(hours=2)))
    sent = headers("msg_1", BODY, [secret], at)
    assert sent["webhook-timestamp"] == str(int(at.timestamp()))
    assert Webhook(secret).verify(BODY, sent) == json.loads(BODY)


def test_each_of_two_secrets_verifies_during_a_rotation() -> None:
    """Two secrets give two space-separated ``v1,`` entries; either one verifies."""
    current, previous = new_secret(), new_secret()
    sent = headers("msg_2", BODY, (current, previous), datetime.now(UTC))
    entries = sent["webhook-signature"].split(" ")
    assert len(entries) == 2
    assert all(entry.startswith("v1,") for entry in entries)
    assert entries[0] != entries[1]
    assert Webhook(current).verify(BODY, sent) == json.loads(BODY)
    assert Webhook(previous).verify(BODY, sent) == json.loads(BODY)


def test_an_unrelated_secret_does_not_verify() -> None:
    """A third secret, not among those that signed, is refused."""
    sent = headers("msg_3", BODY, (new_secret(), new_secret()), datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)


def test_a_tampered_body_does_not_verify() -> None:
    """Changing the body after signing breaks the signature."""
    secret = new_secret()
    sent = headers("msg_4", BODY, [secret], datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("task_1", "task_2"), sent)


def test_a_changed_message_id_does_not_verify() -> None:
    """The webhook-id is signed: swapping it (a forged replay) fails."""
    secret = new_secret()
    sent = headers("msg_5", BODY, [secret], datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**sent, "webhook-id": "msg_6"})


def test_the_timestamp_header_is_whole_seconds_of_at() -> None:
    """``webhook-timestamp`` is the integer Unix time of ``at`` (fractions dropped)."""
    at = datetime(2030, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)
    sent = headers("msg_7", BODY, [new_secret()], at)
    assert sent["webhook-timestamp"] == "1893456000"


def test_the_signature_matches_the_reference_signer() -> None:
    """Each entry equals what standardwebhooks itself computes for that secret."""
    at = datetime(2030, 1, 1, tzinfo=UTC)
    one, two = new_secret(), new_secret()
    sent = headers("msg_8", BODY, [one, two], at)
    expected = f"{Webhook(one).sign('msg_8', at, BODY)} {Webhook(two).sign('msg_8', at, BODY)}"
    assert sent["webhook-signature"] == expected


def test_the_callback_secret_is_derived_deterministically() -> None:
    """The same server secret and account give the same callback secret every time."""
    assert callback_secret("server", "acct_1") == callback_secret("server", "acct_1")


def test_the_callback_secret_differs_by_account_and_by_server_secret() -> None:
    """Another account, or another deployment, gets another key."""
    base = callback_secret("server", "acct_1")
    assert callback_secret("server", "acct_2") != base
    assert callback_secret("other-server", "acct_1") != base


def test_the_callback_secret_is_a_usable_whsec_secret() -> None:
    """It is ``whsec_`` + 32 bytes, and signs headers the reference verifier accepts."""
    secret = callback_secret("server", "acct_1")
    assert len(raw_key(secret)) == 32
    sent = headers("msg_9", BODY, [secret], datetime.now(UTC))
    assert Webhook(secret).verify(BODY, sent) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(callback_secret("server", "acct_2")).verify(BODY, sent)
