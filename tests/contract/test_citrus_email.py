"""One-time codes by real SMTP (aiosmtpd on a free port), and what happens when mail is down."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.citrus import bearer, client, codes_in_log, unique_email
from tests.support.emulators import free_port
from tests.support.server import ServeProcess, serving


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def wait_for(self, rcpt: str, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for rcpts, message in self.messages:
                    if rcpt in rcpts:
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {rcpt}")

    def to(self, rcpt: str) -> list[Message]:
        with self._lock:
            return [m for rcpts, m in self.messages if rcpt in rcpts]


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def smtp_server(inbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    _, port = inbox
    env = {
        "ASSAY_SMTP_HOST": "127.0.0.1",
        "ASSAY_SMTP_PORT": str(port),
        "ASSAY_SMTP_STARTTLS": "false",
        "ASSAY_SMTP_FROM": "Assay <codes@assay.test>",
    }
    with serving(tmp_path_factory.mktemp("smtp") / "data", env) as proc:
        yield proc


def test_the_code_arrives_by_smtp_and_signs_in(inbox, smtp_server):
    handler, _ = inbox
    email = unique_email("mail")
    with client(smtp_server) as http:
        r = http.post("/api/auth/register", json={"email": email, "name": "Mail Reader"})
        assert r.status_code == 201
        message = handler.wait_for(email)
        assert message["From"] == "Assay <codes@assay.test>"
        assert message["To"] == f"Mail Reader <{email}>"
        text = message.get_payload(decode=True).decode()
        code = re.search(r"\b(\d{6})\b", text).group(1)
        assert code in message["Subject"] and "10 minutes" in text
        r = http.post("/api/auth/verify-otp", json={"email": email, "otp": code})
        assert r.status_code == 200
        assert http.get("/api/auth/me", headers=bearer(r.json()["access_token"])).status_code == 200
    # With SMTP configured, no code is ever written to the log.
    assert codes_in_log(smtp_server, email) == []
    assert code not in smtp_server.log.read_text(errors="replace")


def test_unknown_email_gets_no_mail(inbox, smtp_server):
    handler, _ = inbox
    email = unique_email("nobody")
    with client(smtp_server) as http:
        assert http.post("/api/auth/login", json={"email": email}).status_code == 200
    time.sleep(0.5)
    assert handler.to(email) == []


def test_mail_down_is_503_degraded_health_and_no_throttle(tmp_path):
    env = {"ASSAY_SMTP_HOST": "127.0.0.1", "ASSAY_SMTP_PORT": str(free_port())}  # nobody there
    with serving(tmp_path / "data", env) as proc, client(proc) as http:
        health = http.get("/health").json()
        assert health["status"] == "degraded" and health["email"].startswith("error")
        email = unique_email("down")
        for _ in range(2):  # a failed send does not hold the email for 60 s
            r = http.post("/api/auth/register", json={"email": email, "name": "D"})
            assert r.status_code == 503
            body = r.json()
            assert set(body) >= {"error", "detail", "code", "timestamp"}
            assert "127.0.0.1" not in body["detail"]  # internals stay in the log
