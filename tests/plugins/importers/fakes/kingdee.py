"""A fake Kingdee K/3 Cloud WebAPI on 127.0.0.1 under ``/k3cloud/``: ``AuthService.ValidateUser``
sets the ``kdservice-sessionid`` cookie; ``DynamicFormService.ExecuteBillQuery`` evaluates
``FilterString`` (``and``/``or``/parentheses, comparisons, ``in (…)``), ``OrderString``,
``StartRow`` and ``Limit`` and answers a bare array of arrays in ``FieldKeys`` order; failures
are ``[[{"Result": {"ResponseStatus": {"IsSuccess": false, …}}}]]``, a lost session has
``MsgCode`` 1."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from tests.plugins.importers.fakes.httpfake import Answer, HttpFake, Request, compare

LOGIN = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
QUERY = ("/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery"
         ".common.kdsvc")
TOKEN = re.compile(r"\s*(>=|<=|<>|!=|=|>|<|\(|\)|,|'(?:[^']|'')*'|-?\d+(?:\.\d+)?|[\w.]+)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def failure(message: str, msg_code: int = 0) -> list[Any]:
    return [[{"Result": {"ResponseStatus": {
        "ErrorCode": 500, "IsSuccess": False, "MsgCode": msg_code,
        "Errors": [{"FieldName": None, "Message": message, "DIndex": 0}],
        "SuccessEntitys": [], "SuccessMessages": []}}}]]


class FakeKingdee(HttpFake):
    def __init__(self, acct_id: str = "5867f8d847e804", username: str = "api",
                 password: str = "pw", max_limit: int = 2000) -> None:
        super().__init__()
        self.acct_id, self.username, self.password = acct_id, username, password
        self.max_limit = max_limit
        self.forms: dict[str, list[dict[str, Any]]] = {}
        self.keys: dict[str, set[str]] = {}
        self.sessions: set[str] = set()
        self.fail: dict[tuple[str, int], str] = {}  # (form, n-th query) -> message
        self.queries: dict[str, int] = {}
        self.logins = 0

    def add(self, form: str, **row: Any) -> dict[str, Any]:
        self.forms.setdefault(form, []).append(row)
        self.keys.setdefault(form, set()).update(row)
        return row

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def handle(self, req: Request) -> Answer:
        if req.path == LOGIN:
            return self._login(req.json())
        if req.path != QUERY:
            return Answer(404, b"<html>404</html>")
        cookies = dict(c.strip().split("=", 1) for c in req.headers.get("cookie", "").split(";")
                       if "=" in c)
        if cookies.get("kdservice-sessionid") not in self.sessions:
            return Answer(200, failure("会话信息已丢失，请重新登录", msg_code=1))
        return Answer(200, self._query(req.json()["data"]))

    def _login(self, body: dict[str, Any]) -> Answer:
        ok = (body.get("acctid"), body.get("username"), body.get("password")) == (
            self.acct_id, self.username, self.password)
        if not ok:
            return Answer(200, {"Message": "用户名或密码错误！",
                                "MessageCode": "CheckPasswordPolicy",
                                "LoginResultType": 0, "Context": None, "KDSVCSessionId": None,
                                "IsSuccessByAPI": False})
        self.logins += 1
        session = uuid.uuid4().hex
        self.sessions.add(session)
        return Answer(200, {"Message": None, "LoginResultType": 1, "KDSVCSessionId": session,
                            "IsSuccessByAPI": True,
                            "Context": {"UserId": 100008, "UserName": self.username,
                                        "DBid": self.acct_id}},
                      {"Set-Cookie": f"kdservice-sessionid={session}; path=/"})

    def _query(self, data: dict[str, Any]) -> list[Any]:
        form = data["FormId"]
        n = self.queries[form] = self.queries.get(form, 0) + 1
        if (form, n) in self.fail:
            return failure(self.fail.pop((form, n)))
        if form not in self.forms:
            return failure(f"业务对象{form}不存在")
        keys = [k.strip() for k in data["FieldKeys"].split(",")]
        for k in keys:
            if k not in self.keys[form]:
                return failure(f"字段{k}不存在")
        if int(data.get("Limit") or 0) > self.max_limit:
            return failure(f"Limit 超过最大值 {self.max_limit}")
        rows = list(self.forms[form])
        if (data.get("FilterString") or "").strip():
            tokens = TOKEN.findall(data["FilterString"])
            rows = [r for r in rows if _Eval(tokens, r).run()]
        for part in reversed([p for p in (data.get("OrderString") or "").split(",") if p.strip()]):
            name, _, direction = part.strip().partition(" ")
            rows.sort(key=lambda r: _sortable(r.get(name)), reverse=direction.upper() == "DESC")
        start, limit = int(data.get("StartRow") or 0), int(data.get("Limit") or 0)
        rows = rows[start:start + limit] if limit else rows[start:]
        return [[r.get(k) for k in keys] for r in rows]


def _sortable(value: Any) -> Any:
    if isinstance(value, str) and DATE.match(value):
        return datetime.fromisoformat(value.replace(" ", "T")).isoformat()
    return "" if value is None else value


class _Eval:
    """A recursive-descent reading of a FilterString against one row."""

    def __init__(self, tokens: list[str], row: dict[str, Any]) -> None:
        self.tokens, self.row, self.i = tokens, row, 0

    def run(self) -> bool:
        return self.expr()

    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self) -> str:
        self.i += 1
        return self.tokens[self.i - 1]

    def expr(self) -> bool:
        value = self.term()
        while self.peek().lower() == "or":
            self.take()
            value = self.term() or value
        return value

    def term(self) -> bool:
        value = self.factor()
        while self.peek().lower() == "and":
            self.take()
            value = self.factor() and value
        return value

    def factor(self) -> bool:
        if self.peek() == "(":
            self.take()
            value = self.expr()
            self.take()
            return value
        field, op = self.take(), self.take()
        left = self.row.get(field)
        if op.lower() == "in":
            self.take()
            values = []
            while self.peek() != ")":
                token = self.take()
                if token != ",":
                    values.append(_literal(token))
            self.take()
            return left in values
        right = _literal(self.take())
        if isinstance(left, str) and isinstance(right, str) and DATE.match(left) and (
            DATE.match(right)
        ):
            left, right = _sortable(left), _sortable(right)
        return compare(left, op, right)


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return float(token) if "." in token else int(token)


def seed(fake: FakeKingdee) -> None:
    """Warehouses, a supplier, materials, stock rows over lots, sales issues (one un-approved)
    and receipts, a purchase order."""
    fake.add("BD_STOCK", FStockId=1, FNumber="CK001", FName="原材料仓", FForbidStatus="A",
             **{"FUseOrgId.FNumber": "100"}, FModifyDate="2024-05-01T08:00:00.1")
    fake.add("BD_STOCK", FStockId=2, FNumber="CK003", FName="成品仓", FForbidStatus="A",
             **{"FUseOrgId.FNumber": "100"}, FModifyDate="2024-05-01T08:00:00.2")
    fake.add("BD_Supplier", FSupplierId=1, FNumber="VEN001", FName="苏州五金", FForbidStatus="A",
             **{"FUseOrgId.FNumber": "100"}, FModifyDate="2024-05-01T08:00:00")
    for mid, number, name, spec, unit in ((1, "1.01.001", "螺栓", "M6×20", "Pcs"),
                                          (2, "3.02.015", "成品机箱", "A型", "台"),
                                          (3, "3.02.016", "成品机箱", "B型", "台")):
        fake.add("BD_MATERIAL", FMaterialId=mid, FNumber=number, FName=name,
                 FSpecification=spec, **{"FMaterialGroup.FName": "原材料",
                                         "FBaseUnitId.FName": unit, "FUseOrgId.FNumber": "100"},
                 FDocumentStatus="C", FForbidStatus="A", FModifyDate=f"2024-05-02T09:00:0{mid}")
    for fid, material, stock, qty, lock, updated in (
        (11, "1.01.001", "CK001", 1000.0, 50.0, "2024-05-20T10:31:12.43"),
        (12, "1.01.001", "CK001", 200.0, 0.0, "2024-05-20T10:31:13.1"),  # another lot
        (13, "1.01.001", "CK003", 5.0, 0.0, "2024-05-20T10:31:14"),
        (14, "3.02.015", "CK003", 36.0, 0.0, "2024-05-21T08:02:44.1"),
        (15, "3.02.016", "CK003", 4.0, 1.0, "2024-05-21T08:02:45"),
    ):
        fake.add("STK_Inventory", FID=fid, **{"FMaterialId.FNumber": material,
                                              "FStockId.FNumber": stock,
                                              "FStockOrgId.FNumber": "100"},
                 FBaseQty=qty, FBaseLockQty=lock, FBaseAVBQty=qty - lock, FUpdateTime=updated)
    for entry, bill, material, qty, status, modified in (
        (101, "XSCKD000001", "3.02.015", 2.0, "C", "2024-05-21T09:00:00"),
        (102, "XSCKD000001", "1.01.001", 100.0, "C", "2024-05-21T09:00:00"),
        (103, "XSCKD000002", "3.02.015", 1.0, "D", "2024-05-21T10:00:00"),
    ):
        fake.add("SAL_OUTSTOCK", FID=entry // 2, FBillNo=bill, FDate="2024-05-21T00:00:00",
                 FDocumentStatus=status, FCancelStatus="A", FEntity_FEntryID=entry,
                 **{"FMaterialId.FNumber": material, "FStockId.FNumber": "CK003",
                    "FStockOrgId.FNumber": "100"},
                 FRealQty=qty, FBaseUnitQty=qty, FModifyDate=modified)
    fake.add("STK_InStock", FID=70, FBillNo="CGRK000001", FDate="2024-05-20T14:30:00",
             FDocumentStatus="C", FCancelStatus="A", FInStockEntry_FEntryID=201,
             **{"FMaterialId.FNumber": "1.01.001", "FStockId.FNumber": "CK001",
                "FStockOrgId.FNumber": "100"},
             FRealQty=10.0, FBaseUnitQty=1000.0, FModifyDate="2024-05-20T15:00:00")
    fake.add("PUR_PurchaseOrder", FID=80, FBillNo="CGDD000001", FDocumentStatus="C",
             FCloseStatus="A", FCancelStatus="A", FPOOrderEntry_FEntryID=301,
             **{"FSupplierId.FNumber": "VEN001", "FMaterialId.FNumber": "1.01.001",
                "FPurchaseOrgId.FNumber": "100"},
             FQty=10.0, FStockInQty=4.0, FBaseUnitQty=1000.0, FRemainStockINQty=6.0,
             FDeliveryDate="2024-06-01T00:00:00", FModifyDate="2024-05-19T11:00:00")
