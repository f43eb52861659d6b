"""Outbound HTTP for the channel plugins, in one place: the SSRF guard and a pinned JSON POST.

RELIABILITY §1.3 "SSRF in webhook actions" and bad-input rows 41–43: every A/AAAA answer of the
host is vetted and the connection goes to the vetted address (no second lookup that DNS
rebinding could answer differently); redirects are never followed; no environment proxy is used.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from engine.channels import DeliveryFailed

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "stockwarn-notifier/1"
Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(ValueError):
    """The URL or an address it resolves to may not be called."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DeliveryFailed(
                f"HTTP {self.status} with a body that is not JSON", False
            ) from None


def parse_url(url: str) -> Target:
    """Split an http(s) URL, refusing what a webhook URL has no business containing."""
    if not isinstance(url, str) or any(c in url for c in "\r\n\t\0 "):
        raise UrlRefused("the URL contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("the URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("credentials in the URL are not supported; use 'headers'")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("the URL has an invalid port") from None
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path)


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and refusal(embedded):
            return "an IPv6 address embedding a non-public IPv4 address"
    checks = [
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    ]
    return next((f"a {what} address" for what, hit in checks if hit), None)


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, legacy IPv4 forms included (``2130706433``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_literal(url: str, allow_private: bool) -> None:
    """The checks that need no DNS (config time): scheme, credentials, literal addresses."""
    target = parse_url(url)
    ip = literal_ip(target.host)
    if ip is not None and not allow_private and (why := refusal(ip)):
        raise UrlRefused(f"the URL points to {why} ({ip}); set allow_private: true to allow it")


def vetted_address(
    host: str, port: int, allow_private: bool, resolver: Resolver = socket.getaddrinfo
) -> str:
    """Resolve ``host`` and return one address to connect to, if every answer is allowed."""
    try:
        answers = resolver(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryFailed(f"cannot resolve host {host!r}: {exc}", True) from None
    addresses = [ipaddress.ip_address(str(a[4][0]).split("%", 1)[0]) for a in answers]
    if not addresses:
        raise DeliveryFailed(f"host {host!r} has no address", True)
    if not allow_private:
        for ip in addresses:
            if why := refusal(ip):
                raise DeliveryFailed(f"URL not allowed: {host} resolves to {why} ({ip})", False)
    return str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        # The certificate is checked against the host name, while the socket is pinned.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post_json(
    url: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    allow_private: bool = False,
    resolver: Resolver = socket.getaddrinfo,
) -> Response:
    """POST ``payload`` as JSON; a 2xx answer is returned, anything else raises ``DeliveryFailed``.

    5xx, 408, 429, timeouts and connection errors are retryable; 3xx (never followed) and other
    4xx are not. ``payload`` may be bytes already encoded (when the caller signs them).
    """
    try:
        target = parse_url(url)
    except UrlRefused as exc:
        raise DeliveryFailed(f"URL not allowed: {exc}", False) from None
    ip = vetted_address(target.host, target.port, allow_private, resolver)
    body = payload if isinstance(payload, bytes) else encode(payload)
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target.host, target.port, ip, timeout)
    sent = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        **(headers or {}),
    }
    try:
        conn.request("POST", target.path, body=body, headers=sent)
        answer = conn.getresponse()
        status, data = answer.status, answer.read(MAX_RESPONSE_BYTES)
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryFailed(
            f"TLS certificate of {target.host} not accepted: {exc.verify_message}", False
        ) from None
    except TimeoutError:
        raise DeliveryFailed(
            f"timed out after {timeout:g}s talking to {target.host}", True
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(
            f"connection to {target.host} failed: {type(exc).__name__}: {exc}", True
        ) from None
    finally:
        conn.close()
    return _check_status(status, data)


def _check_status(status: int, data: bytes) -> Response:
    if 200 <= status < 300:
        return Response(status, data)
    if 300 <= status < 400:
        raise DeliveryFailed(f"HTTP {status} not followed", False)
    snippet = data[:200].decode("utf-8", "replace").strip()
    reason = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    raise DeliveryFailed(reason, status >= 500 or status in (408, 425, 429))


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign_body(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary, marked with …."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", "ignore") + "…"


class HttpTargetSchema(Schema):
    """Settings every HTTP-speaking channel shares; the URL is checked here as far as it can be
    without DNS, and again, resolved, at every send."""

    url = fields.String(required=True)
    timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1, max=60))
    allow_private = fields.Boolean(load_default=False)

    @validates_schema
    def _check_url(self, data: dict[str, Any], **_: Any) -> None:
        if "url" in data:
            try:
                check_literal(data["url"], data.get("allow_private", False))
            except UrlRefused as exc:
                raise ValidationError(str(exc), "url") from None


class HeadersField(fields.Dict):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=fields.String(), values=fields.String(), **kwargs)


class SignedHttpTargetSchema(HttpTargetSchema):
    headers = HeadersField(load_default=dict)
    secret = fields.String(load_default=None, validate=validate.Length(min=1))

    @validates("headers")
    def _check_headers(self, value: dict[str, str], **_: Any) -> None:
        for key, val in value.items():
            if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", key) or any(
                c in val for c in "\r\n\0"
            ):
                raise ValidationError(f"invalid header {key!r}")


def check_api_code(
    response: Response, service: str, code_keys: tuple[str, ...], retryable_codes: frozenset[int]
) -> None:
    """Chat robots answer HTTP 200 with their own status code: 0 is success, the rest fail."""
    data = response.json()
    if not isinstance(data, dict):
        raise DeliveryFailed(f"{service} answered with unexpected JSON", False)
    code = next((data[k] for k in code_keys if k in data), None)
    if code == 0:
        return
    message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or "no message"
    raise DeliveryFailed(f"{service} error {code}: {message}", code in retryable_codes)


def robot_text(subject: str, text: str) -> str:
    """One text for chat robots: the subject as the first line unless the text already has it."""
    return text if not subject or text.startswith(subject) else f"{subject}\n{text}"
