"""Email over SMTP (optionally implicit TLS or STARTTLS, optionally with a login)."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from engine.channels import DeliveryFailed, OutgoingMessage

log = logging.getLogger(__name__)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")


def is_valid_address(value: str) -> bool:
    """A bare address (``a@b.example``) that cannot smuggle headers or extra recipients.

    Bad-input row 38: ``a@b.com\\r\\nBcc: x@y`` must be refused, not sent.
    """
    if not isinstance(value, str) or len(value) > 254 or any(c in value for c in "\r\n\0"):
        return False
    _name, address = parseaddr(value)
    return address == value and _ADDRESS.fullmatch(value) is not None


class EmailConfigSchema(Schema):
    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(load_default=None, validate=validate.Range(min=1, max=65535))
    ssl = fields.Boolean(load_default=False)  # implicit TLS (port 465)
    starttls = fields.Boolean(load_default=False)
    username = fields.String(load_default=None)
    password = fields.String(load_default=None)
    from_addr = fields.String(required=True, data_key="from")
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("ssl") and data.get("starttls"):
            raise ValidationError("choose ssl or starttls, not both", "starttls")
        if (data.get("username") is None) != (data.get("password") is None):
            raise ValidationError("username and password go together", "password")
        if "from_addr" in data and not is_valid_address(data["from_addr"]):
            raise ValidationError("invalid email address", "from")

    @post_load
    def _default_port(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data["port"] is None:
            data["port"] = 465 if data["ssl"] else 587 if data["starttls"] else 25
        return data


def build_message(message: OutgoingMessage, sender: str) -> EmailMessage:
    mail = EmailMessage()
    # A rendered subject can hold a line break (an SKU name); headers must not.
    mail["Subject"] = " ".join((message.subject or message.text[:80]).split()) or "stockwarn"
    mail["From"] = sender
    mail["To"] = ", ".join(message.recipients)
    mail["Date"] = formatdate(usegmt=True)
    # Stable across retries, so a receiving system can see a resend as the same message (D3).
    mail["Message-ID"] = f"<{message.delivery_id}@{sender.rsplit('@', 1)[1]}>"
    mail["X-Stockwarn-Delivery"] = message.delivery_id
    mail.set_content(message.text)
    return mail


class EmailChannel:
    name = "email"
    config_schema = EmailConfigSchema
    address = "email"
    requires_address = True

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        bad = [r for r in message.recipients if not is_valid_address(r)]
        if bad:
            raise DeliveryFailed(f"invalid email address: {bad[0]!r}", False)
        if not message.recipients:
            raise DeliveryFailed("no recipient has an email address", False)
        mail = build_message(message, config["from_addr"])
        try:
            refused = self._transmit(mail, config, list(message.recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"every recipient was refused: {exc.recipients}", all(400 <= c < 500 for c in codes)
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"SMTP login refused ({exc.smtp_code})", False) from None
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
            raise DeliveryFailed(reason, 400 <= exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryFailed(f"SMTP server does not support it: {exc}", False) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(
                f"TLS certificate not accepted: {exc.verify_message}", False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"SMTP connection failed: {type(exc).__name__}: {exc}", True
            ) from None
        if refused:
            log.warning(
                "delivery %s: some recipients were refused: %s", message.delivery_id, refused
            )

    @staticmethod
    def _transmit(mail: EmailMessage, config: dict[str, Any], to: list[str]) -> dict[str, Any]:
        context = ssl.create_default_context()
        host, port, timeout = config["host"], config["port"], config["timeout"]
        smtp = (
            smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            if config["ssl"]
            else smtplib.SMTP(host, port, timeout=timeout)
        )
        with smtp:
            if config["starttls"]:
                smtp.starttls(context=context)
            if config.get("username") is not None:
                smtp.login(config["username"], config["password"])
            return smtp.send_message(mail, from_addr=config["from_addr"], to_addrs=to)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


channel = EmailChannel()
