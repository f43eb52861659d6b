"""REST: the rule document (SPEC §6): read, replace, validate, versions, activate, diff."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from admin.api import schemas
from admin.api.body import text_body
from admin.auth import require, services
from engine.errors import InputInvalid
from engine.group_advice import empty_group_rules
from engine.membership import GroupIndex
from engine.policy import Right
from engine.rules import load_ruleset
from engine.rules.advice import advice
from engine.rules.problems import RulesetInvalid
from engine.services import rule_runs, rulesets, what_if
from engine.services.master_data import all_skus, all_warehouses

blp = Blueprint("ruleset", __name__, url_prefix="/api/v1/ruleset",
                description="The rule document, its versions and validation")

YAML_JSON_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string"}},
        "text/yaml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


def _expected_revision() -> int | None:
    value = request.headers.get("If-Match", "").strip().strip('"')
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise InputInvalid([{"field": "If-Match", "message": "If-Match must be a revision number"}])
    return int(value)


def _document_format() -> tuple[str, str]:
    text = text_body()
    return text, rulesets.sniff_format(text, request.mimetype)


@blp.route("")
class Ruleset(MethodView):
    @require(Right.READ)
    @blp.response(200, schemas.RulesetSchema)
    def get(self) -> dict[str, Any]:
        """The active rule document, its version and revision (send it back in If-Match)."""
        svc = services()
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
            if active is None:
                return {"version": None, "revision": 0, "text": None}
            text, fmt = rulesets.version_text(uow.conn, active.version)
            meta = next(v for v in rulesets.versions(uow.conn) if v["number"] == active.version)
        return {"version": active.version, "revision": active.revision, "name": active.compiled.name,
                "format": fmt, "text": text, "author": meta["author"],
                "created_at": meta["created_at"], "document": dict(active.compiled.document)}

    @require(Right.ADMIN)
    @blp.doc(requestBody=YAML_JSON_BODY)
    @blp.response(200, schemas.PutRulesetResultSchema)
    @blp.alt_response(422, schema=schemas.ProblemsSchema, description="invalid document; nothing changed")
    @blp.alt_response(409, schema=schemas.MessageSchema, description="changed by someone else")
    def put(self) -> dict[str, Any]:
        """Replace the rule document (YAML or JSON by Content-Type); it becomes a new version."""
        text, fmt = _document_format()
        svc = services()
        with svc.uow() as uow:
            number = rulesets.put(uow.conn, text, fmt, g.user.username, svc.clock.now(),
                                  comment=request.args.get("comment", ""),
                                  expected_revision=_expected_revision())
            uow.commit()
            active = svc.rulesets.active(uow.conn)
        rule_runs.start_for(svc, number)
        return {"version": number, "revision": active.revision if active else 0}


@blp.route("/validate")
class Validate(MethodView):
    @require(Right.READ)
    @blp.doc(requestBody=YAML_JSON_BODY)
    @blp.response(200, schemas.ValidateResultSchema)
    def post(self) -> dict[str, Any]:
        """Check a document without saving it; say which SKUs each group and rule matches now."""
        text, fmt = _document_format()
        try:
            compiled = load_ruleset(text, fmt)
        except RulesetInvalid as exc:
            if exc.__class__ is not RulesetInvalid:
                raise
            return {"valid": False, "errors": [p.as_dict() for p in exc.problems], "groups": {}, "rules": {}}
        svc = services()
        with svc.uow() as uow:  # a short read; the evaluation runs after it ended (issue #13)
            skus, warehouses = all_skus(uow.conn), all_warehouses(uow.conn)
            snap = svc.cache.current(uow.conn)
            pairs = what_if.read_pairs(uow.conn)
            makers = what_if.makers_for(uow.conn, snap, compiled)
        index = GroupIndex(compiled, skus, warehouses)
        # every rule over every SKU×warehouse now (issue #16), vectorised
        evaluated = what_if.evaluate_ruleset(pairs, makers, snap, compiled, svc.clock.now())
        groups = {gid: _match(index.skus_in((gid,))) for gid in compiled.groups}
        rules = {r.id: dict(_match(index.skus_in(r.groups)), **evaluated[r.id])
                 for r in compiled.rules}
        warnings = (advice(compiled, svc.deliverable_channels())  # e.g. a digest's channel
                    + empty_group_rules(compiled, index))
        return {"valid": True, "errors": [], "warnings": [p.as_dict() for p in warnings],
                "groups": groups, "rules": rules}


def _match(codes: list[str]) -> dict[str, Any]:
    return {"count": len(codes), "skus": codes[:100]}


@blp.route("/versions")
class Versions(MethodView):
    @require(Right.READ)
    @blp.response(200, schemas.VersionSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every accepted version, newest first, with author and time."""
        svc = services()
        with svc.uow() as uow:
            return rulesets.versions(uow.conn)


@blp.route("/versions/<int:number>")
class Version(MethodView):
    @require(Right.READ)
    @blp.response(200, schemas.VersionTextSchema)
    def get(self, number: int) -> dict[str, Any]:
        """One version's text; ``?diff=M`` adds a unified diff from version M to this one."""
        svc = services()
        with svc.uow() as uow:
            text, _ = rulesets.version_text(uow.conn, number)
            meta = next(v for v in rulesets.versions(uow.conn) if v["number"] == number)
            against = request.args.get("diff", type=int)
            diff = rulesets.diff(uow.conn, against, number) if against else None
        return dict(meta, text=text, diff=diff)


@blp.route("/versions/<int:number>/activate")
class Activate(MethodView):
    @require(Right.ADMIN)
    @blp.response(200, schemas.PutRulesetResultSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def post(self, number: int) -> dict[str, Any]:
        """Make version ``number`` the active one again (roll back or forward)."""
        svc = services()
        with svc.uow() as uow:
            rulesets.activate(uow.conn, number, g.user.username, svc.clock.now(),
                              expected_revision=_expected_revision())
            uow.commit()
            active = svc.rulesets.active(uow.conn)
        rule_runs.start_for(svc, number)
        return {"version": number, "revision": active.revision if active else 0}
