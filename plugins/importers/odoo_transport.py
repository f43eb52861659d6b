"""How we talk to Odoo: one interface, two transports (ERP.md §2a).

``XmlRpcTransport`` speaks ``/xmlrpc/2`` (``authenticate`` then ``execute_kw``), the external API
of Odoo ≤ 18 (deprecated in 19). ``Json2Transport`` speaks Odoo 19's ``POST /json/2/<model>/
<method>`` with ``Authorization: bearer <API key>``. Both take named parameters, so the importer
calls ``call(model, "search_read", {"domain": …, "fields": …, "limit": …})`` either way.
"""

from __future__ import annotations

import http.client
import xmlrpc.client
from typing import Any, Protocol

from engine.imports.plugin import CredentialsRefused, ImportFailed, SourceUnreachable
from plugins.importers.http import HttpClient

SOURCE = "odoo"
_AUTH_WORDS = ("AccessDenied", "Access Denied", "invalid api key", "SessionExpired")


class OdooTransport(Protocol):
    """An authenticated channel to one Odoo database."""

    version: str  # "17.0", "19.0", … as the server says

    def call(self, model: str, method: str, params: dict[str, Any], where: str) -> Any: ...

    def close(self) -> None: ...


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__(use_datetime=False)
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


class _SafeTimeoutTransport(xmlrpc.client.SafeTransport):
    def __init__(self, timeout: float) -> None:
        super().__init__(use_datetime=False)
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


class XmlRpcTransport:
    """``/xmlrpc/2/common`` ``authenticate`` and ``/xmlrpc/2/object`` ``execute_kw``."""

    def __init__(self, url: str, db: str, login: str, key: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.db, self.login, self.key, self.timeout = db, login, key, timeout
        self.version = ""
        self.uid: int | None = None

    def _proxy(self, service: str) -> xmlrpc.client.ServerProxy:
        maker = _SafeTimeoutTransport if self.url.startswith("https://") else _TimeoutTransport
        return xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/{service}", allow_none=True,
                                         transport=maker(self.timeout))

    def connect(self) -> XmlRpcTransport:
        info = self._guard("version()", lambda: self._proxy("common").version())
        self.version = str((info or {}).get("server_version", ""))
        uid = self._guard("authenticate", lambda: self._proxy("common").authenticate(
            self.db, self.login, self.key, {}))
        if not uid:
            raise CredentialsRefused(SOURCE, "authenticate", f"database {self.db!r} refused "
                                     f"login {self.login!r} with this password or API key")
        self.uid = int(uid)
        return self

    def call(self, model: str, method: str, params: dict[str, Any], where: str) -> Any:
        proxy = self._proxy("object")
        return self._guard(where, lambda: proxy.execute_kw(
            self.db, self.uid, self.key, model, method, [], params))

    def close(self) -> None:
        pass

    def _guard(self, where: str, call: Any) -> Any:
        try:
            return call()
        except xmlrpc.client.Fault as fault:
            message = str(fault.faultString).strip().splitlines()
            text = message[-1] if message else str(fault.faultCode)
            if any(w.lower() in str(fault.faultString).lower() for w in _AUTH_WORDS):
                raise CredentialsRefused(SOURCE, where, text[:300]) from None
            raise ImportFailed(SOURCE, where, text[:300]) from None
        except xmlrpc.client.ProtocolError as exc:
            if exc.errcode in (401, 403):
                raise CredentialsRefused(SOURCE, where, f"HTTP {exc.errcode}") from None
            raise ImportFailed(SOURCE, where, f"HTTP {exc.errcode} {exc.errmsg} from "
                               f"{self.url}/xmlrpc/2: is the URL right?") from None
        except TimeoutError:
            raise SourceUnreachable(SOURCE, where, f"no answer from {self.url} within "
                                    f"{self.timeout:g} s") from None
        except OSError as exc:
            raise SourceUnreachable(SOURCE, where, f"cannot connect to {self.url}: "
                                    f"{exc}") from None
        except (xmlrpc.client.ResponseError, http.client.HTTPException) as exc:
            raise ImportFailed(SOURCE, where, f"not an XML-RPC answer: {exc}") from None


class Json2Transport:
    """Odoo 19's ``POST /json/2/<model>/<method>``: the body names the parameters, the answer
    is the bare result, errors are 4xx/5xx with ``{name, message, …}``."""

    def __init__(self, url: str, db: str, key: str, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"bearer {key}", "Content-Type": "application/json"}
        if db:
            headers["X-Odoo-Database"] = db
        self.http = HttpClient(SOURCE, url, timeout=timeout, headers=headers)
        self.version = ""

    def connect(self) -> Json2Transport:
        # the version answers without a key; a call to res.users proves the key
        info = self.http.json("GET", "/web/version", "GET /web/version")
        self.version = str((info or {}).get("version", "")) if isinstance(info, dict) else ""
        self.call("res.users", "search_count", {"domain": [["id", "=", 0]]}, "check the key")
        return self

    def call(self, model: str, method: str, params: dict[str, Any], where: str) -> Any:
        try:
            return self.http.json("POST", f"/json/2/{model}/{method}", where, json=params)
        except CredentialsRefused:
            raise
        except ImportFailed as exc:
            if any(w.lower() in exc.reason.lower() for w in _AUTH_WORDS):
                raise CredentialsRefused(SOURCE, where, exc.reason) from None
            raise

    def close(self) -> None:
        self.http.close()


def connect(url: str, db: str, login: str | None, key: str, protocol: str,
            timeout: float) -> OdooTransport:
    """Log in with the transport ``protocol`` names; ``auto`` asks ``/web/version`` and uses
    JSON-2 from 19 on, XML-RPC before (ERP.md TL;DR 1)."""
    if protocol == "auto":
        probe = HttpClient(SOURCE, url, timeout=timeout)
        try:
            info = probe.json("GET", "/web/version", "GET /web/version")
            major = int(str(info.get("version_info", [info.get("version", "0")])[0]).split(".")[0])
        except (ImportFailed, ValueError, TypeError, AttributeError, IndexError) as exc:
            if isinstance(exc, SourceUnreachable):
                raise
            major = 0  # older servers have no /web/version: XML-RPC
        finally:
            probe.close()
        protocol = "json2" if major >= 19 else "xmlrpc"
    if protocol == "json2":
        return Json2Transport(url, db, key, timeout).connect()
    if protocol == "xmlrpc":
        if not login:
            raise ImportFailed(SOURCE, "option --login", "XML-RPC needs the user's login")
        return XmlRpcTransport(url, db, login, key, timeout).connect()
    raise ImportFailed(SOURCE, "option --protocol",
                       f"{protocol!r} is none of auto, xmlrpc, json2")

