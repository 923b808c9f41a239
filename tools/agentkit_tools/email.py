"""Email tool: compose a message and deliver it to a local outbox (default) or through SMTP.

Nothing leaves the machine by accident: without `EmailSettings` a
`Mailer` writes each message as an ``.eml`` file into an outbox folder of the
workspace (any mail client opens them). With settings (host, port, credentials,
``starttls``/``ssl``) it sends over SMTP. Sending is a side effect: the ``send_email``
tool runs only after approval (see `email_tools`).

>>> import tempfile
>>> mailer = Mailer(Workspace(tempfile.mkdtemp()))
>>> mailer.send(to=["ana@example.org"], subject="Hello", body="Hi Ana")["delivered_via"]
'outbox'
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import smtplib
import ssl
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import Field

from agentkit import RunContext, Tool, tool
from agentkit.exceptions import ToolArgumentsError
from agentkit_tools.workspace import MissingPathError, Workspace, WorkspaceError

__all__ = ["EmailSettings", "Mailer", "email_tools"]

Security = Literal["starttls", "ssl", "none"]
_ADDRESS = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
_SLUG = re.compile(r"[^a-z0-9]+")
#: Largest attachment a `Mailer` reads (25 MB, what common mail services accept).
DEFAULT_MAX_ATTACHMENT_BYTES = 25_000_000


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailSettings:
    """Where and how to send mail over SMTP. The password never appears in ``repr``.

    Attributes:
        host: SMTP server host name.
        port: SMTP port (587 for STARTTLS, 465 for SSL, 25 plain).
        sender: the From address.
        username: login name (``None``: no login).
        password: login password.
        security: ``"starttls"`` (default), ``"ssl"`` or ``"none"`` (loopback/testing only).
        timeout_s: seconds for connecting and each SMTP command.
    """

    host: str
    port: int = 587
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: Security = "starttls"
    timeout_s: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmailSettings | None:
        """Settings from ``AGENTKIT_SMTP_HOST``/``_PORT``/``_FROM``/``_USER``/``_PASSWORD``/``_SECURITY``.

        Returns ``None`` when ``AGENTKIT_SMTP_HOST`` is unset (mail then goes to the outbox).
        """
        env = os.environ if environ is None else environ
        host = env.get("AGENTKIT_SMTP_HOST")
        if not host:
            return None
        security = env.get("AGENTKIT_SMTP_SECURITY", "starttls")
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"AGENTKIT_SMTP_SECURITY must be starttls, ssl or none, not {security!r}")
        return cls(
            host=host,
            port=int(env.get("AGENTKIT_SMTP_PORT", "465" if security == "ssl" else "587")),
            sender=env.get("AGENTKIT_SMTP_FROM", "agentkit@localhost"),
            username=env.get("AGENTKIT_SMTP_USER") or None,
            password=env.get("AGENTKIT_SMTP_PASSWORD") or None,
            security=security,  # type: ignore[arg-type]  # checked against the Literal just above
        )


def _attach(message: EmailMessage, name: str, data: bytes) -> None:
    """Attach a file: text as UTF-8 text (readable by any client), anything else as bytes."""
    path = PurePosixPath(name)
    kind, _ = mimetypes.guess_type(path.name)
    if kind is None and path.suffix in (".md", ".ics", ".csv"):
        kind = {".md": "text/markdown", ".ics": "text/calendar", ".csv": "text/csv"}[path.suffix]
    maintype, subtype = (kind or "application/octet-stream").split("/", 1)
    if maintype == "text":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            maintype, subtype = "application", "octet-stream"
        else:
            message.add_attachment(text, subtype=subtype, filename=path.name)
            return
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


def _check_header(name: str, value: str) -> None:
    """Refuse line breaks and other control characters in a header value (they could forge headers)."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ToolArgumentsError(f"the {name} may not contain line breaks or control characters ({bad!r})")


class Mailer:
    """Composes messages (attachments from the workspace) and delivers them.

    Args:
        workspace: where attachments are read from and the outbox lives.
        settings: SMTP settings; ``None`` writes ``.eml`` files to the outbox instead.
        outbox: the outbox folder, relative to the workspace.
        sender: the From address used for the outbox (SMTP uses ``settings.sender``).
        max_attachment_bytes: largest attachment read (a larger file is refused, not read whole).
    """

    def __init__(
        self,
        workspace: Workspace,
        settings: EmailSettings | None = None,
        *,
        outbox: str = "outbox",
        sender: str = "agentkit@localhost",
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    ) -> None:
        self.workspace = workspace
        self.max_attachment_bytes = max_attachment_bytes
        self.settings = settings
        self.outbox = outbox
        self.sender = settings.sender if settings is not None else sender
        self._lock = threading.Lock()

    def compose(
        self,
        *,
        to: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[str] = (),
        message_id: str | None = None,
    ) -> EmailMessage:
        """Build the message; attachment paths are relative to the workspace."""
        _check_header("subject", subject)
        for address in to:
            _check_header("recipient address", address)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id or make_msgid(domain="agentkit.local")
        message.set_content(body)
        for name in attachments:
            with self.workspace.open(name, "rb") as source:
                data = source.read(self.max_attachment_bytes + 1)  # never more than the cap
            if len(data) > self.max_attachment_bytes:
                raise WorkspaceError(f"attachment {name!r} is larger than {self.max_attachment_bytes} bytes")
            _attach(message, name, data)
        return message

    def send(
        self,
        *,
        to: Sequence[str],
        subject: str,
        body: str,
        attachments: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Compose and deliver a message; return how (``outbox`` or ``smtp``) and where.

        With an ``idempotency_key`` (durable runs pass one per tool call), a key already
        delivered is not sent again, and the Message-ID is derived from the key, so a
        copy re-sent after a crash mid-delivery is recognisably the same message.
        """
        summary: dict[str, Any] = {"to": list(to), "subject": subject, "attachments": list(attachments)}
        message_id = None
        if idempotency_key is not None:
            digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
            message_id = f"<{digest}@agentkit.local>"
            if self._already_sent(digest):
                return {"delivered_via": "already_sent", "message_id": message_id, **summary}
        message = self.compose(
            to=to, subject=subject, body=body, attachments=attachments, message_id=message_id
        )
        if self.settings is None:
            result = {"delivered_via": "outbox", "path": self._write_outbox(message, subject), **summary}
        else:
            self._send_smtp(self.settings, message)
            result = {
                "delivered_via": "smtp",
                "server": f"{self.settings.host}:{self.settings.port}",
                **summary,
            }
        if idempotency_key is not None:
            self._record_sent(message_id or "")
        return result

    def _sent_journal(self) -> str:
        return f"{self.outbox}/.sent-keys"

    def _already_sent(self, digest: str) -> bool:
        with self._lock:
            try:
                with self.workspace.open(self._sent_journal()) as journal:
                    return any(line.strip() == f"<{digest}@agentkit.local>" for line in journal)
            except MissingPathError:
                return False  # nothing sent with a key yet

    def _record_sent(self, message_id: str) -> None:
        with self._lock, self.workspace.open(self._sent_journal(), "a", make_parents=True) as out:
            out.write(message_id + "\n")

    def _write_outbox(self, message: EmailMessage, subject: str) -> str:
        slug = _SLUG.sub("-", subject.lower()).strip("-")[:50] or "message"
        data = message.as_bytes()
        with self._lock:
            with self.workspace.folder(self.outbox, create=True):
                number = 1 + len(self.workspace.files(self.outbox, "*.eml", limit=100_000))
            while True:  # "x": never replaces a message, even one another process wrote meanwhile
                relative = f"{self.outbox}/{number:03d}-{slug}.eml"
                try:
                    with self.workspace.open(relative, "xb") as out:
                        out.write(data)
                    break
                except FileExistsError:
                    number += 1
        return "/".join(self.workspace.parts(relative))

    @staticmethod
    def _send_smtp(settings: EmailSettings, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)


def email_tools(mailer: Mailer) -> list[Tool]:
    """Build the ``send_email`` tool over ``mailer``.

    ``send_email`` has a side effect, so it is declared ``requires_approval``: each
    call waits for the run's approver (``Agent(approve=...)``/``run(approve=...)``,
    e.g. [`agentkit.approval.prompt_approver`][] or ``approve_all``), and without
    one the run pauses. With no SMTP settings it only writes to the outbox.
    """

    @tool(sequential=True, requires_approval=True)
    def send_email(
        to: Annotated[list[Annotated[str, Field(pattern=_ADDRESS)]], Field(min_length=1, max_length=20)],
        subject: Annotated[str, Field(min_length=1, max_length=200)],
        body: str,
        attachments: list[str] | None = None,
    ) -> dict[str, Any]:
        """Send an email (plain text, optional attachments from the workspace).

        Args:
            to: Recipient addresses.
            subject: Subject line.
            body: Plain-text body.
            attachments: Workspace-relative paths of files to attach.
        """
        key = RunContext.current_idempotency_key()  # set in durable runs: a resumed call is not re-sent
        try:
            return mailer.send(
                to=to, subject=subject, body=body, attachments=attachments or (), idempotency_key=key
            )
        except (OSError, smtplib.SMTPException) as err:
            raise WorkspaceError(f"the email could not be sent: {type(err).__name__}: {err}") from None

    return [send_email]
