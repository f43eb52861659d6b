"""The authorisation model walked whole (issue #13): every route of the OpenAPI document and
every page of ``app.url_map``, for every kind of identity, answers what the README's "Who may
read and act" says — 401 (no API credential), a redirect to the login page (no session), 403
(not allowed), 404 (an object outside the caller's scope, as if absent) or an answer of the
route itself.

The expected outcomes are written out here by hand, not derived from engine/policy.py, and the
README's table of endpoints and pages must name the same rule for every route: a route added
without a decision, or documented otherwise than it behaves, fails this test. Runs on SQLite,
and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.admin.web_seed import PASSWORD, csrf_token, login, requisition_id, seed_with_client
from tests.admin.web_seed import task_id as find_task

README = Path(__file__).resolve().parents[2] / "README.md"

# Identities: who they are, and how they call.
IDENTITIES = ("anonymous", "plain", "buyer", "sales", "approver", "admin", "ingest", "read",
              "read-plain")
A, LOGIN = "allowed", "login"  # an answer of the route itself; a redirect to /login

#                 anonymous plain  buyer  sales  approver admin  ingest read   read-plain
MATRIX: dict[str, tuple[Any, ...]] = {
    "public":       (A,     A,     A,     A,     A,     A,     A,     A,     A),
    "read":         (401,   A,     A,     A,     A,     A,     403,   A,     A),
    "private":      (401,   403,   403,   403,   403,   A,     403,   A,     403),
    "admin":        (401,   403,   403,   403,   403,   A,     403,   403,   403),
    "act":          (401,   A,     A,     A,     A,     A,     403,   403,   403),
    "ingest":       (401,   A,     A,     A,     A,     A,     A,     403,   403),
    "set-stock":    (401,   403,   403,   403,   403,   A,     A,     403,   403),
    "task":         (401,   404,   A,     404,   A,     A,     403,   A,     404),
    "task-act":     (401,   404,   A,     404,   A,     A,     403,   403,   403),
    # Pages: a signed-in person (always the user's own rights); tokens never open a page.
    "page":         (LOGIN, A,     A,     A,     A,     A,     LOGIN, LOGIN, LOGIN),
    "page-task":    (LOGIN, 404,   A,     404,   A,     A,     LOGIN, LOGIN, LOGIN),
    "page-admin":   (LOGIN, 403,   403,   403,   403,   A,     LOGIN, LOGIN, LOGIN),
    # an admin page of an object the seed has none of: the guard answers before the lookup
    "page-admin-absent": (LOGIN, 403, 403,   403,   403,   404,   LOGIN, LOGIN, LOGIN),
}


@dataclass(frozen=True)
class Route:
    rule: str  # a row of MATRIX
    json: Any = None
    data: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # path parameters, besides SEED ones


NOPE = {"transition": "nope"}  # passes the guard, then 409: the walk changes nothing
API: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/ruleset"): Route("read"),
    ("PUT", "/api/v1/ruleset"): Route("admin", data="", content_type="application/yaml"),
    ("POST", "/api/v1/ruleset/validate"): Route("read", data="ruleset: x\n",
                                                content_type="application/yaml"),
    ("GET", "/api/v1/ruleset/versions"): Route("read"),
    ("GET", "/api/v1/ruleset/versions/{number}"): Route("read"),
    ("POST", "/api/v1/ruleset/versions/{number}/activate"): Route(
        "admin", headers={"If-Match": "999999"}),  # a stale revision: 409, nothing activated
    ("GET", "/api/v1/skus"): Route("read"),
    ("PUT", "/api/v1/skus"): Route("admin", json=[]),
    ("GET", "/api/v1/warehouses"): Route("read"),
    ("PUT", "/api/v1/warehouses"): Route("admin", json=[]),
    ("GET", "/api/v1/suppliers"): Route("private"),
    ("PUT", "/api/v1/suppliers"): Route("admin", json=[]),
    ("POST", "/api/v1/events"): Route("ingest", json=[]),
    ("GET", "/api/v1/events/rejected"): Route("private"),
    ("POST", "/api/v1/events/rejected/replay"): Route("admin", json={"ids": [999999]}),
    ("GET", "/api/v1/alerts"): Route("read"),
    ("GET", "/api/v1/tasks"): Route("read"),
    ("GET", "/api/v1/tasks/{task_id}"): Route("task"),
    ("POST", "/api/v1/tasks/{task_id}/transitions"): Route("task-act", json=NOPE),
    ("GET", "/api/v1/requisitions"): Route("read"),
    ("GET", "/api/v1/requisitions/{req_id}"): Route("read"),
    ("POST", "/api/v1/requisitions/{req_id}/transitions"): Route("act", json=NOPE),
    ("GET", "/api/v1/skus/{code}/stock"): Route("read"),
    ("GET", "/api/v1/notifications"): Route("private"),
    # imports set stock: the walk's stocktake body is no upload, so past the guard a 400/422
    ("GET", "/api/v1/imports"): Route("set-stock"),
    ("POST", "/api/v1/imports/{plugin}"): Route("set-stock"),
    ("POST", "/api/v1/imports/{plugin}/preview"): Route("set-stock"),
    ("GET", "/api/v1/imports/runs"): Route("set-stock"),
    ("GET", "/api/v1/imports/runs/{run_id}"): Route("set-stock"),
    ("POST", "/api/v1/notifications/retry"): Route("admin", json={"ids": [999999]}),
    ("GET", "/api/v1/users/me/contacts"): Route("read"),
    ("PUT", "/api/v1/users/me/contacts"): Route("act", json={}),
    ("GET", "/api/v1/users/{username}/contacts"): Route("admin"),
    ("PUT", "/api/v1/users/{username}/contacts"): Route("admin", json={}),
    # transfers (issue #19): a body that is no transfer, and ids that name none
    ("GET", "/api/v1/transfers"): Route("read"),
    ("POST", "/api/v1/transfers"): Route("act", json={}),
    ("GET", "/api/v1/transfers/{transfer_id}"): Route("read", params={"transfer_id": "999999"}),
    ("POST", "/api/v1/transfers/{transfer_id}/transitions"): Route(
        "act", json=NOPE, params={"transfer_id": "999999"}),
    # noise control (issue #17): a snooze acts on the alert's task (422: no end given; 409:
    # not snoozed), mutes are the admins' (422: no rule; 404: no such mute)
    ("POST", "/api/v1/alerts/{alert_id}/snooze"): Route("task-act", json={}),
    ("DELETE", "/api/v1/alerts/{alert_id}/snooze"): Route("task-act"),
    ("GET", "/api/v1/snoozes"): Route("read"),
    ("GET", "/api/v1/mutes"): Route("read"),
    ("POST", "/api/v1/mutes"): Route("admin", json={}),
    ("DELETE", "/api/v1/mutes/{mute_id}"): Route("admin"),
}
# The same path with a body that needs another right: a stocktake sets stock outright.
SET_STOCK = Route("set-stock")

POST_NOPE = {"group_id": "nope", "role_id": "nope", "workflow_id": "nope", "rule_id": "nope",
             "number": "999999"}  # posts name nothing that exists: the walk changes nothing
PAGES: dict[tuple[str, str], Route] = {
    ("GET", "/static/<path:filename>"): Route("public"),
    ("GET", "/api/v1/openapi.json"): Route("public"),
    ("GET", "/health"): Route("public"),
    ("GET", "/login"): Route("public"),
    ("POST", "/login"): Route("public"),
    ("POST", "/logout"): Route("public"),
    ("GET", "/lang/<code>"): Route("public"),
    ("GET", "/"): Route("page"),
    ("GET", "/dashboard"): Route("page"),
    ("GET", "/tasks"): Route("page"),
    ("GET", "/account/password"): Route("page"),
    ("POST", "/account/password"): Route("page"),
    ("GET", "/tasks/<int:task_id>"): Route("page-task"),
    ("GET", "/tasks/<int:task_id>/chart.json"): Route("page-task"),
    ("POST", "/tasks/<int:task_id>/transitions/<transition>"): Route("page-task"),
    ("GET", "/requisitions"): Route("page"),
    ("GET", "/requisitions/<int:req_id>"): Route("page"),
    ("POST", "/requisitions/<int:req_id>/transitions/<transition>"): Route("page"),
    ("POST", "/requisitions/<int:req_id>/edit"): Route("page"),
    ("POST", "/requisitions/bulk"): Route("page"),
    ("POST", "/tasks/bulk"): Route("page"),
    ("POST", "/tasks/<int:task_id>/assignee"): Route("page-task"),
    ("GET", "/alerts/<int:alert_id>"): Route("page-task"),
    ("POST", "/alerts/<int:alert_id>/snooze"): Route("page-task"),  # no reason: refused
    ("POST", "/alerts/<int:alert_id>/unsnooze"): Route("page-task"),  # not snoozed: a notice
    ("GET", "/noise"): Route("page"),
    ("POST", "/admin/mutes"): Route("page-admin"),  # no rule: refused, nothing muted
    ("POST", "/admin/mutes/<int:mute_id>/delete"): Route("page-admin-absent",
                                                         params={"mute_id": "999999"}),
    ("GET", "/purchase-orders"): Route("page"),
    ("GET", "/purchase-orders/<int:po_id>"): Route("page", params={"po_id": "999999"}),
    ("GET", "/purchase-orders/<int:po_id>/export.<fmt>"): Route(
        "page", params={"po_id": "999999", "fmt": "csv"}),
    ("POST", "/purchase-orders/<int:po_id>/send"): Route("page", params={"po_id": "999999"}),
    ("POST", "/purchase-orders/<int:po_id>/ordered"): Route("page", params={"po_id": "999999"}),
    ("GET", "/transfers"): Route("page"),
    ("GET", "/transfers/<int:transfer_id>"): Route("page", params={"transfer_id": "999999"}),
    ("POST", "/transfers/<int:transfer_id>/transitions/<transition>"): Route(
        "page", params={"transfer_id": "999999"}),
    ("GET", "/reports"): Route("page"),
    ("GET", "/reports/export.xlsx"): Route("page"),
    ("GET", "/account"): Route("page"),
    ("POST", "/account"): Route("page"),
    ("GET", "/admin/users"): Route("page-admin"),
    ("GET", "/admin/users/<username>"): Route("page-admin"),
    ("POST", "/admin/users/<username>"): Route("page-admin"),
    ("GET", "/admin/events/rejected"): Route("page-admin"),
    ("GET", "/admin/audit"): Route("page-admin"),
    ("POST", "/admin/events/rejected/replay"): Route("page-admin"),
    ("GET", "/admin"): Route("page-admin"),
    ("GET", "/admin/versions"): Route("page-admin"),
    ("GET", "/admin/versions/<int:number>"): Route("page-admin"),
    ("POST", "/admin/versions/<int:number>/activate"): Route("page-admin", params=POST_NOPE),
    # the evaluation the seed's ruleset activation started (#17): run 1
    ("GET", "/admin/rule-runs/<int:run_id>"): Route("page-admin", params={"run_id": "1"}),
    ("GET", "/admin/rule-runs/<int:run_id>/progress"): Route("page-admin",
                                                             params={"run_id": "1"}),
    ("GET", "/admin/advanced"): Route("page-admin"),
    ("POST", "/admin/advanced"): Route("page-admin"),
    ("POST", "/admin/rules/preview"): Route("page-admin"),
    ("GET", "/admin/groups/count"): Route("page-admin"),
    ("GET", "/admin/rules/title-example"): Route("page-admin"),
    ("GET", "/admin/settings"): Route("page-admin"),
    ("GET", "/admin/backtest"): Route("page-admin"),
    ("POST", "/admin/backtest/tune"): Route("page-admin-absent"),  # no version to tune
    ("GET", "/admin/calendars"): Route("page-admin"),
    ("GET", "/admin/calendars/new"): Route("page-admin"),
    ("POST", "/admin/calendars/new"): Route("page-admin"),
    ("GET", "/admin/calendars/<calendar_id>/edit"): Route("page-admin-absent"),
    ("POST", "/admin/calendars/<calendar_id>/edit"): Route("page-admin-absent"),
    ("POST", "/admin/calendars/<calendar_id>/delete"): Route("page-admin-absent"),
    ("POST", "/admin/settings"): Route("page-admin"),
    # data import, ERP sources (issue #15): a post names no upload, run or source that exists
    ("GET", "/admin/imports"): Route("page-admin"),
    ("POST", "/admin/imports/preview"): Route("page-admin"),  # no file: back to the form
    ("POST", "/admin/imports/start"): Route("page-admin-absent"),
    ("GET", "/admin/imports/runs"): Route("page-admin"),
    ("GET", "/admin/imports/runs/<int:run_id>"): Route("page-admin"),
    ("GET", "/admin/imports/runs/<int:run_id>/progress"): Route("page-admin"),
    # the seed's run is still queued: nothing to start again
    ("POST", "/admin/imports/runs/<int:run_id>/again"): Route("page-admin-absent"),
    ("GET", "/admin/imports/sources"): Route("page-admin"),
    ("GET", "/admin/imports/sources/new"): Route("page-admin"),
    ("POST", "/admin/imports/sources/new"): Route("page-admin"),
    ("GET", "/admin/imports/sources/<name>"): Route("page-admin-absent"),
    ("GET", "/admin/imports/sources/<name>/edit"): Route("page-admin-absent"),
    ("POST", "/admin/imports/sources/<name>/edit"): Route("page-admin-absent"),
    ("POST", "/admin/imports/sources/<name>/test"): Route("page-admin-absent"),
    ("POST", "/admin/imports/sources/<name>/run"): Route("page-admin-absent"),
    ("POST", "/admin/imports/sources/<name>/delete"): Route("page-admin-absent"),
    # master data: a post is refused by the use case's own checks (no name), nothing saved
    ("GET", "/admin/data"): Route("page-admin"),
    **{(method, f"/admin/data/{kind}{tail}"): Route("page-admin", params={"code": code})
       for kind, code in (("skus", "SKU-1"), ("warehouses", "WH-1"), ("suppliers", "SUP-1"))
       for method, tail in (("GET", ""), ("GET", "/export.xlsx"), ("GET", "/new"),
                            ("POST", "/new"), ("GET", "/item/<path:code>"),
                            ("GET", "/edit/<path:code>"), ("POST", "/edit/<path:code>"))},
    # issue #19: marking a supplier (un)available; the walk's post marks SUP-1 available
    ("POST", "/admin/data/suppliers/item/<path:code>/availability"): Route(
        "page-admin", params={"code": "SUP-1"}),
    **{(method, f"/admin/{kind}{tail}"): Route("page-admin", params=POST_NOPE if method == "POST"
                                               and tail != "/new" else {})
       for kind, key in (("groups", "group_id"), ("roles", "role_id"),
                         ("workflows", "workflow_id"), ("rules", "rule_id"))
       for method, tail in (("GET", ""), ("GET", "/new"), ("POST", "/new"),
                            ("GET", f"/<{key}>/edit"), ("POST", f"/<{key}>/edit"),
                            ("POST", f"/<{key}>/delete"))
       if (kind, tail) != ("rules", "")},
}


@dataclass
class Caller:
    name: str
    client: Any
    token: str | None = None
    csrf: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@pytest.fixture
def world(app: Any, client: Any, runner: Any, clock: Any, services: Any) -> dict[str, Any]:
    """The page tests' state (alice buys, carol approves, dave sells, root administers) plus
    pat (no business role) and erp (an integration user), and a caller per identity."""
    seed_with_client(client, runner, clock.now())

    def invoke(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return str(result.output.strip().splitlines()[-1])

    invoke("users", "create", "pat", "--password", PASSWORD.format("pat"))
    invoke("users", "create", "erp", "--no-password")
    people = {"plain": "pat", "buyer": "alice", "sales": "dave", "approver": "carol",
              "admin": "root"}
    callers = {"anonymous": Caller("anonymous", app.test_client())}
    for kind, name in people.items():
        caller = Caller(kind, app.test_client(), invoke("tokens", "create", name))
        assert login(caller.client, name).status_code == 303
        callers[kind] = caller
    for kind, (name, scope) in {"ingest": ("erp", "ingest"), "read": ("root", "read"),
                                "read-plain": ("pat", "read")}.items():
        callers[kind] = Caller(kind, app.test_client(),
                               invoke("tokens", "create", name, "--scope", scope))
    for caller in callers.values():  # signed in: any page's form; otherwise the login form's
        page = caller.client.get("/tasks" if caller.name in people else "/login")
        caller.csrf = csrf_token(page)
    seeds = {"task_id": str(find_task(services, "补货 SKU-1 @ WH-1")),
             "req_id": str(requisition_id(services, "SKU-1")), "number": "1", "code": "SKU-1",
             "transition": "nope", "filename": "css/app.css", "group_id": "cheap",
             "role_id": "buyer", "workflow_id": "replenishment", "rule_id": "low-stock",
             "calendar_id": "nope", "plugin": "csv",
             "run_id": str(services.imports.start_file_run(
                 "csv", str(Path(__file__)), kind="stock", actor="root", dry_run=True)),
             "username": "alice", "name": "nope", "mute_id": "999999"}
    seeds["alert_id"] = str(client.get(f"/api/v1/tasks/{seeds['task_id']}", headers={
        "Authorization": f"Bearer {callers['admin'].token}"}).json["alert"])
    return {"callers": callers, "seeds": seeds}


def outcome(answer: Any) -> Any:
    if answer.status_code in (301, 302, 303) and urlparse(answer.location).path == "/login":
        return LOGIN
    assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
    if answer.status_code in (401, 403, 404):
        return answer.status_code
    return A


def fill(path: str, values: dict[str, str]) -> str:
    """A concrete path from an OpenAPI (``{name}``) or Werkzeug (``<conv:name>``) template."""
    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]
    return re.sub(r"[{<](?:[a-z]+:)?(\w+)[}>]", value, path)


def expected(rule: str, identity: str, missing_is_allowed: bool = False) -> Any:
    want = MATRIX[rule][IDENTITIES.index(identity)]
    # Admin posts name nothing that exists: past the guard, "no such thing" is their answer.
    return (A, 404) if want == A and missing_is_allowed else (want,)


def call_api(caller: Caller, method: str, path: str, route: Route) -> Any:
    kwargs: dict[str, Any] = {"headers": {**caller.headers, **route.headers}}
    if route.rule == "set-stock":
        kwargs["json"] = [{"id": f"walk-count-{caller.name}", "type": "count", "sku": "SKU-3",
                           "warehouse": "WH-1", "qty": 50, "at": "2026-11-20T07:00:00Z"}]
    elif route.json is not None:
        kwargs["json"] = route.json
    elif route.data is not None:
        kwargs.update(data=route.data, content_type=route.content_type)
    return caller.client.open(path, method=method, **kwargs)


def test_every_api_route_answers_every_identity_as_the_model_says(client, world) -> None:
    spec = client.get("/api/v1/openapi.json").json
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops
                  if m in ("get", "put", "post", "patch", "delete")}
    assert documented == set(API), "an API route without a decision in this walk (or gone)"
    walk = [(key, route) for key, route in API.items()]
    walk.append((("POST", "/api/v1/events"), SET_STOCK))
    wrong = []
    for (method, template), route in walk:
        path = fill(template, {**world["seeds"], **route.params})
        for identity in IDENTITIES:
            got = outcome(call_api(world["callers"][identity], method, path, route))
            want = expected(route.rule, identity,
                            missing_is_allowed=route.rule == "admin" or bool(route.params))
            if got not in want:
                wrong.append(f"{method} {path} as {identity}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_every_page_answers_every_identity_as_the_model_says(app, world) -> None:
    pages = {(m, r.rule) for r in app.url_map.iter_rules()
             for m in r.methods - {"HEAD", "OPTIONS"}
             if not r.rule.startswith("/api/") or r.rule == "/api/v1/openapi.json"}
    assert pages == set(PAGES), "a page without a decision in this walk (or gone)"
    api_rules = {re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()
                 if r.rule.startswith("/api/") and r.rule != "/api/v1/openapi.json"}
    assert api_rules == {path for _, path in API}, "an API route missing from the OpenAPI walk"
    admin = world["callers"]["admin"]
    versions = admin.client.get("/api/v1/ruleset/versions", headers=admin.headers).json
    wrong = []
    for (method, template), route in sorted(PAGES.items(), key=lambda kv: kv[0][1] == "/logout"):
        path = fill(template, {**world["seeds"], **route.params})
        for identity in IDENTITIES:
            caller = world["callers"][identity]
            if method == "GET":
                answer = caller.client.get(path, headers=caller.headers)
            else:
                # A stale revision: an editor's save past the guard is a conflict, not a change.
                answer = caller.client.post(path, headers=caller.headers,
                                            data={"csrf_token": caller.csrf,
                                                  "revision": "999999"})
            got = outcome(answer)
            if route.rule == "public":  # sign-in, sign-out, language, health, assets
                ok = got != 403 and not (got == LOGIN and method == "GET"
                                         and template != "/logout")
            else:
                ok = got in expected(route.rule, identity, missing_is_allowed=bool(route.params))
            if not ok:
                wrong.append(f"{method} {path} as {identity}: {got}, expected "
                             f"{MATRIX[route.rule][IDENTITIES.index(identity)]}")
    assert not wrong, "\n".join(wrong)
    after = admin.client.get("/api/v1/ruleset/versions", headers=admin.headers).json
    assert after == versions  # the walk saved nothing


# -- the README says the same ---------------------------------------------------------------
_ROW = re.compile(r"^\|\s*`([a-z-]+)`\s*\|(.*)\|\s*$")
_ROUTE = re.compile(r"`(GET|PUT|POST|PATCH|DELETE) (/[^`]*)`")


def readme_routes() -> dict[tuple[str, str], str]:
    """The README's "Who may read and act" table of routes: (method, path) → rule."""
    text = README.read_text("utf-8")
    section = text.split("### Who may read and act", 1)[1].split("\n## ", 1)[0]
    table = section.split("<!-- routes -->", 1)[1]
    routes: dict[tuple[str, str], str] = {}
    for line in table.splitlines():
        found = _ROW.match(line)
        if found:
            for method, path in _ROUTE.findall(found.group(2)):
                assert (method, path) not in routes, f"{method} {path} is listed twice"
                routes[(method, path)] = found.group(1)
    return routes


def readme_matrix() -> dict[str, tuple[str, ...]]:
    text = README.read_text("utf-8").split("### Who may read and act", 1)[1]
    table = text.split("<!-- rights -->", 1)[1].split("<!-- routes -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        found = _ROW.match(line)
        if found:
            rows[found.group(1)] = tuple(c.strip() for c in found.group(2).split("|"))
    return rows


def test_the_readme_documents_every_route_with_the_rule_it_is_tested_with() -> None:
    tested = {(m, re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", p)): r.rule
              for (m, p), r in {**API, **PAGES}.items()}
    tested[("POST", "/api/v1/events (count, adjustment)")] = SET_STOCK.rule
    assert readme_routes() == tested


def test_the_readme_states_the_tested_outcome_of_every_rule() -> None:
    words = {A: "yes", LOGIN: "login", 401: "401", 403: "403", 404: "404"}
    assert readme_matrix() == {rule: tuple(words[w] for w in row) for rule, row in MATRIX.items()}
