"""The email port: one-time codes reach people by SMTP, or (locally, without SMTP) the log."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

from assay.errors import Unavailable

log = logging.getLogger("assay.email")


class EmailUnavailable(Unavailable):
    code = "INTERNAL_ERROR"


class Mailer(Protocol):
    def send_code(self, email: str, name: str, code: str, minutes: int) -> None:
        """Deliver `code`; raise EmailUnavailable when it cannot be delivered."""

    def check(self) -> str:
        """A short health word ("connected", "log", ...); raise when email is down."""


def code_message(sender: str, email: str, name: str, code: str, minutes: int) -> EmailMessage:
    """The mail. EmailMessage itself refuses header values with line breaks."""
    message = EmailMessage()
    message["Subject"] = f"Your Assay sign-in code: {code}"
    message["From"] = sender
    message["To"] = formataddr((name, email)) if name else email
    greeting = f"Hello {name}," if name else "Hello,"
    message.set_content(
        f"{greeting}\n\nYour Assay sign-in code is {code}.\n"
        f"It works once, for {minutes} minutes.\n\n"
        "If you did not ask for it, ignore this mail.\n"
    )
    return message


class SMTPMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout_s = starttls, timeout_s

    def _connect(self) -> smtplib.SMTP:
        smtp = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s)
            if self.port == 465
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        )
        try:
            smtp.ehlo()
            if self.starttls and self.port != 465:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_code(self, email: str, name: str, code: str, minutes: int) -> None:
        message = code_message(self.sender, email, name, code, minutes)
        try:
            with self._connect() as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The reason goes to the log; the client learns only that mail failed.
            log.error("SMTP delivery to %s:%s failed: %s", self.host, self.port, exc)
            raise EmailUnavailable("The code could not be sent by email; try again later") from None

    def check(self) -> str:
        try:
            with self._connect() as smtp:
                smtp.noop()
        except (OSError, smtplib.SMTPException) as exc:
            raise EmailUnavailable(f"SMTP: {type(exc).__name__}") from None
        return "connected"


class LogMailer:
    """Local development without SMTP: the code is written to the server's log."""

    def send_code(self, email: str, name: str, code: str, minutes: int) -> None:
        log.warning("OTP for %s: %s (valid %d minutes; no SMTP configured)", email, code, minutes)

    def check(self) -> str:
        return "log"


class NoMailer:
    """Production without SMTP: codes cannot be sent, and the log must never hold them."""

    def send_code(self, email: str, name: str, code: str, minutes: int) -> None:
        raise EmailUnavailable("Email is not configured on this server (ASSAY_SMTP_HOST)")

    def check(self) -> str:
        raise EmailUnavailable("not configured")
