"""Kingdee K/3 Cloud (金蝶云星空) WebAPI: log in with ``ValidateUser`` (a session cookie), then
``ExecuteBillQuery`` pages of ``StartRow``/``Limit`` (ERP.md §2c).

A query answers a bare array of arrays in ``FieldKeys`` order; a failure is the same shape with
an object in the first cell (``[[{"Result": {"ResponseStatus": {"IsSuccess": false, …}}}]]``).
A lost session (``MsgCode`` 1) logs in again once.
"""

from __future__ import annotations

from typing import Any

from engine.imports.plugin import CredentialsRefused, ImportFailed
from plugins.importers.http import HttpClient

SOURCE = "kingdee"
STUB = "Kingdee.BOS.WebApi.ServicesStub"
LOGIN = f"{STUB}.AuthService.ValidateUser.common.kdsvc"
QUERY = f"{STUB}.DynamicFormService.ExecuteBillQuery.common.kdsvc"


class K3Client:
    def __init__(self, http: HttpClient, acct_id: str, username: str, password: str,
                 lcid: int = 2052) -> None:
        self.http = http
        self.acct_id, self.username, self.password, self.lcid = acct_id, username, password, lcid
        self.user: str | None = None

    def login(self) -> None:
        body = self.http.json("POST", LOGIN, "log in (ValidateUser)", json={
            "acctid": self.acct_id, "username": self.username, "password": self.password,
            "lcid": self.lcid})
        if not isinstance(body, dict) or body.get("LoginResultType") != 1:
            message = (body or {}).get("Message") if isinstance(body, dict) else None
            raise CredentialsRefused(SOURCE, "log in (ValidateUser)", str(
                message or f"account set {self.acct_id!r} refused user {self.username!r}"))
        context = body.get("Context") or {}
        self.user = str(context.get("UserName") or self.username)

    def query(self, form: str, keys: list[str], filter_string: str, order: str, start: int,
              limit: int, where: str) -> list[list[Any]]:
        """One page of ``form``: rows of ``len(keys)`` values in ``keys`` order."""
        payload = {"data": {"FormId": form, "FieldKeys": ",".join(keys),
                            "FilterString": filter_string, "OrderString": order,
                            "TopRowCount": 0, "StartRow": start, "Limit": limit,
                            "SubSystemId": ""}}
        for attempt in (1, 2):
            body = self.http.json("POST", QUERY, where, json=payload)
            status = _failure(body)
            if status is None:
                break
            if status.get("MsgCode") == 1 and attempt == 1:  # the session was lost
                self.login()
                continue
            errors = status.get("Errors") or [{}]
            message = "; ".join(str(e.get("Message") or "") for e in errors).strip("; ")
            raise ImportFailed(SOURCE, where, message or "the query failed")
        if not isinstance(body, list):
            raise ImportFailed(SOURCE, where, "the answer is no list of rows")
        for row in body:
            if not isinstance(row, list) or len(row) != len(keys):
                size = len(row) if isinstance(row, list) else "no"
                raise ImportFailed(SOURCE, where, f"a row has {size} values for {len(keys)} "
                                   "FieldKeys")
        return body


def _failure(body: Any) -> dict[str, Any] | None:
    """The ``ResponseStatus`` of a failed call, or None for rows."""
    cell = body
    while isinstance(cell, list) and cell:
        cell = cell[0]
    if isinstance(cell, dict):
        status = (cell.get("Result") or {}).get("ResponseStatus") or cell.get("ResponseStatus")
        if isinstance(status, dict) and not status.get("IsSuccess", False):
            return status
        raise ImportFailed(SOURCE, "ExecuteBillQuery", f"an unexpected answer: {str(body)[:200]}")
    return None
