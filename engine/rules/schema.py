"""The rule document's shape (SPEC §3) as marshmallow schemas; every error becomes a Problem."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, post_load, validates_schema

from engine.noise import DIGEST_KINDS, NoiseInvalid, QuietHours
from engine.rules.compiled import (
    CALENDAR_KINDS,
    FORECAST_METHODS,
    RULE_SCOPES,
    RULE_TRIGGERS,
    SEVERITIES,
)
from engine.rules.problems import Problem, Segments, did_you_mean, format_path
from engine.rules.schema_fields import (
    CODE_SEP,
    NAME_PATTERN,
    Bool,
    Choice,
    Day,
    Duration,
    Friendly,
    Id,
    ListOf,
    Logic,
    Name,
    Number,
    Quantity,
    Section,
    Supplier,
    Text,
    Timezone,
    describe,
    fail,
    msg,
)
from forms.fields import FIELD_TYPES

CHANNELS = ("email", "sms", "wechat", "wecom", "dingtalk", "feishu", "webhook")
ACTION_KINDS = ("create_task", "create_requisition", "notify", "escalate", "suggest_transfer")
# Actions about one SKU×warehouse: a group rule (``per: group_warehouse``) cannot take them
PAIR_ACTIONS = ("create_requisition", "suggest_transfer")


class DocSchema(Schema):
    """Base: unknown fields are problems with a did-you-mean, not silently dropped."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": msg("type", "'$field' must be a set of 'name: value' entries")}
    allow_extra = False  # settings keep unknown keys as custom params

    def known_names(self) -> list[str]:
        return [f.data_key or name for name, f in self.fields.items()]

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _refuse_unknown(self, data: Any, original_data: Any, **kw: Any) -> None:
        if self.allow_extra or not isinstance(original_data, Mapping):
            return
        known = self.known_names()
        errors = {
            key: [msg("unknown_field", f"$path is not a known field{_suggest(str(key), known)}")]
            for key in original_data
            if key not in known
        }
        if errors:
            raise ValidationError(errors)


def _suggest(word: str, known: list[str]) -> str:
    return did_you_mean(word, known) or f"; the fields here are {', '.join(known)}"


class SettingsSchema(DocSchema):
    """``settings`` and a group's ``params``: known keys typed, custom keys kept as extra."""

    allow_extra = True
    demand_window_days = Number(integer=True, low=1, high=365)
    review_period_days = Number(integer=True, low=1, high=365)
    service_level = Number(low=0.5, high=0.9999)
    timezone = Timezone(max_length=64)
    default_lead_time_days = Number(above=0, high=365)
    ordering_cost = Number(low=0)
    holding_cost_rate = Number(above=0, high=10)
    # issue #16: demand forecasts and the fill-rate target
    forecast_method = Choice(FORECAST_METHODS)
    forecast_alpha = Number(above=0, high=1)
    forecast_beta = Number(above=0, high=1)
    fill_rate = Number(low=0.5, high=0.9999)
    # issue #19: learned lead times
    lead_time_min_observations = Number(integer=True, low=1, high=1000)
    lead_time_window = Number(integer=True, low=2, high=1000)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_extra(self, data: Any, original_data: Any, **kw: Any) -> None:
        if not isinstance(original_data, Mapping):
            return
        known = self.known_names()
        errors = {}
        for key, value in original_data.items():
            if key not in known:
                problem = _extra_problem(str(key), value, known)
                if problem:
                    errors[key] = [problem]
        if errors:
            raise ValidationError(errors)

    @post_load(pass_original=True)
    def _keep_extra(self, data: dict[str, Any], original_data: Any, **kw: Any) -> dict[str, Any]:
        known = self.known_names()
        data["extra"] = {k: v for k, v in original_data.items() if k not in known}
        return data


def _extra_problem(key: str, value: Any, known: list[str]) -> str | None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
    if close:
        return msg(
            "unknown_field",
            f"$path is not a known setting; did you mean '{close[0]}'? "
            "(custom settings are allowed, but this one looks like a misspelling)",
        )
    if not NAME_PATTERN.match(key):
        return msg(
            "invalid_name",
            f"'{key}' cannot be the name of a custom setting: use letters, digits and '_', "
            "starting with a letter",
        )
    scalars = (str, int, float, bool)
    if isinstance(value, scalars) or (
        isinstance(value, list) and all(isinstance(v, scalars) for v in value)
    ):
        return None
    return msg(
        "type", f"'$field' must be a number, text, true/false or a list; got {describe(value)}"
    )


class GroupSchema(DocSchema):
    id = Id(required=True)
    name = Text()
    description = Text(max_length=2000, allow_empty=True)
    where = Logic(allow_none=True)
    params = Section(SettingsSchema)
    owner = Id()  # the role its rules answer to when they name no owner (#17)


class RateLimit(Friendly):
    """A role's rate limit: one whole number for each channel, or one per channel."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        if isinstance(value, Mapping):
            out = {}
            for channel, limit in value.items():
                if channel not in CHANNELS:
                    raise fail("invalid_choice", f"'{channel}' is not a channel; the channels "
                                                 f"are {', '.join(CHANNELS)}"
                                                 f"{did_you_mean(str(channel), CHANNELS)}")
                out[channel] = self._limit(limit, f"'$field.{channel}'")
            return out
        return self._limit(value, "'$field'")

    @staticmethod
    def _limit(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise fail("bad_rate_limit", f"{name} must be a whole number of messages per hour "
                                         f"from 1 to 10000, or one per channel as in "
                                         f"'{{email: 10}}'; got {describe(value)}")
        return value


class QuietHoursText(Text):
    """Daily quiet hours in the settings' time zone: ``22:00-08:00``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            return str(QuietHours.parse(text))
        except NoiseInvalid as exc:
            raise fail("bad_quiet_hours", f"'$field': {exc.message}") from None


class RoleSchema(DocSchema):
    id = Id(required=True)
    name = Text()
    description = Text(max_length=2000, allow_empty=True)
    members = ListOf(Text(max_length=64))
    channels = ListOf(Choice(CHANNELS), single=True)
    escalate_to = Id()
    # issue #17 (noise control): messages per hour on each channel; daily quiet hours
    rate_limit = RateLimit()
    quiet_hours = QuietHoursText()


LABEL_LANGUAGES = ("zh", "en")


class OptionLabel(Friendly):
    """An option's label: one text, or one per language (``{zh: 已补货, en: Replenished}``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        if not isinstance(value, Mapping):
            return Text()._deserialize(value, attr, data, **kw)
        errors: dict[str, list[str]] = {}
        out = {}
        for key, text in value.items():
            if key not in LABEL_LANGUAGES:
                errors[str(key)] = [msg("unknown_field", f"'{key}' is not a language of the "
                                        f"labels; use {' and '.join(LABEL_LANGUAGES)}")]
                continue
            try:
                out[key] = Text()._deserialize(text, attr, data, **kw)
            except ValidationError as err:
                errors[key] = err.messages if isinstance(err.messages, list) else [str(err)]
        if not value:
            raise fail("required", "'$field' must give a label in zh or en")
        if errors:
            raise ValidationError(errors)
        return out


class OptionSchema(DocSchema):
    value = Text(required=True)
    label = OptionLabel()


class Option(Friendly):
    """One option of a select field: its value, or ``{value, label}`` with a label per language."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        if isinstance(value, Mapping):
            return Section(OptionSchema)._deserialize(value, attr, data, **kw)
        return Text()._deserialize(value, attr, data, **kw)


class FormFieldSchema(DocSchema):
    name = Name(required=True)
    label = Text()
    type = Choice(FIELD_TYPES)
    required = Bool()
    options = ListOf(Option())
    min = Number()
    max = Number()
    max_length = Number(integer=True, low=1, high=100_000)
    help = Text(max_length=500, allow_empty=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _consistent(self, data: Any, original_data: Any, **kw: Any) -> None:
        if not isinstance(original_data, Mapping):
            return
        errors = _field_consistency(data, original_data)
        if errors:
            raise ValidationError(errors)


def _field_consistency(data: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    kind = data.get("type", "text") if "type" in data or "type" not in original else None
    errors: dict[str, list[str]] = {}
    if kind == "select" and "options" not in original:
        errors["type"] = [msg("required", "a select field needs 'options' to choose from")]
    if kind not in (None, "select") and "options" in original:
        errors["options"] = [msg("invalid", f"'options' only apply to select fields, not {kind}")]
    for bound in ("min", "max"):
        if kind not in (None, "number", "integer") and bound in original:
            errors[bound] = [
                msg("invalid", f"'{bound}' only applies to number and integer fields, not {kind}")
            ]
    low, high = data.get("min"), data.get("max")
    if low is not None and high is not None and low > high:
        errors["max"] = [msg("out_of_range", f"'max' ({high:g}) is less than 'min' ({low:g})")]
    return errors


class TransitionSchema(DocSchema):
    id = Id(required=True)
    from_states = ListOf(Id(), single=True, min_items=1, required=True, data_key="from")
    to = Id(required=True)
    roles = ListOf(Id(), single=True)
    label = Text()
    form = ListOf(Section(FormFieldSchema))


class WorkflowSchema(DocSchema):
    id = Id(required=True)
    name = Text()
    description = Text(max_length=2000, allow_empty=True)
    states = ListOf(Id(), min_items=2, required=True)
    initial = Id()
    transitions = ListOf(Section(TransitionSchema), min_items=1, required=True)


class CreateTaskSchema(DocSchema):
    title = Text(required=True, max_length=500)
    workflow = Id()
    due = Duration(allow_zero=False)
    role = Id()


class ApprovalSchema(DocSchema):
    above = Number(low=0, required=True)
    role = Id(required=True)


class CreateRequisitionSchema(DocSchema):
    quantity = Quantity()
    supplier = Supplier(max_length=64)
    approval = ListOf(Section(ApprovalSchema))
    # issue #19: the supplier to go to when ``supplier`` is late, unavailable or too slow
    fallback = Supplier(max_length=64)
    fallback_after_late_days = Number(low=0, high=365)

    @validates_schema(skip_on_field_errors=True)
    def _check_fallback(self, data: Any, **kw: Any) -> None:
        if "fallback_after_late_days" in data and "fallback" not in data:
            raise ValidationError({"fallback_after_late_days": [msg(
                "fallback_alone", "$path has no effect without 'fallback' (the supplier to go "
                                  "to)")]})
        if data.get("fallback") is not None and data.get("fallback") == data.get(
                "supplier", "preferred"):
            raise ValidationError({"fallback": [msg(
                "same_fallback", f"$path is '{data['fallback']}', the same as 'supplier': a "
                                 "fallback must be another supplier")]})


class NotifySchema(DocSchema):
    to = Text(max_length=64)
    channels = ListOf(Choice(CHANNELS), single=True)
    message = Text(max_length=2000)
    digest = Choice(DIGEST_KINDS)  # issue #17: one message per role, channel and day


class EscalateSchema(DocSchema):
    after = Duration(allow_zero=False, required=True)
    to = Id(required=True)


class SuggestTransferSchema(DocSchema):
    """``suggest_transfer`` (issue #19): where a surplus may come from, and who ships and
    receives it."""

    sources = ListOf(Text(max_length=64), single=True)
    regions = ListOf(Text(max_length=64), single=True)
    min_cover_days = Number(above=0, high=3650)
    ship = Id()
    receive = Id()


ACTION_SCHEMAS: dict[str, type[DocSchema]] = {
    "create_task": CreateTaskSchema,
    "create_requisition": CreateRequisitionSchema,
    "notify": NotifySchema,
    "escalate": EscalateSchema,
    "suggest_transfer": SuggestTransferSchema,
}


class Action(Friendly):
    """One item of ``actions``: a mapping with a single key naming the action."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dict[str, Any]:
        kinds = ", ".join(ACTION_KINDS)
        if not isinstance(value, Mapping) or not value:
            raise fail(
                "type",
                f"each action must be one of {kinds} followed by its settings, "
                f"as in '- notify: {{to: owner}}'; got {describe(value)}",
            )
        if len(value) > 1:
            raise fail(
                "invalid",
                f"an action has exactly one name, but this one has {len(value)} "
                f"({', '.join(map(str, value))}): start each action with its own '- '",
            )
        kind, params = next(iter(value.items()))
        if kind not in ACTION_SCHEMAS:
            hint = did_you_mean(str(kind), ACTION_KINDS) or f"; the actions are {kinds}"
            raise ValidationError(
                {kind: [msg("unknown_action", f"'{kind}' is not an action{hint}")]}
            )
        try:
            loaded = ACTION_SCHEMAS[kind]().load({} if params is None else params)
        except ValidationError as err:
            partial = err.valid_data if isinstance(err.valid_data, dict) else {}
            raise ValidationError(
                {kind: err.messages}, valid_data={"kind": kind, **partial}
            ) from None
        return {"kind": kind, **loaded}


class RuleSchema(DocSchema):
    id = Id(required=True)
    name = Text()
    description = Text(max_length=2000, allow_empty=True)
    group = Id()
    groups = ListOf(Id(), min_items=1)
    on = ListOf(Choice(RULE_TRIGGERS), single=True, min_items=1)
    when = Logic(required=True)
    severity = Choice(SEVERITIES)
    owner = Id()
    cooldown = Duration()
    auto_resolve = Bool()
    enabled = Bool()
    actions = ListOf(Action())
    per = Choice(RULE_SCOPES)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _group_or_groups(self, data: Any, original_data: Any, **kw: Any) -> None:
        if isinstance(original_data, Mapping) and {"group", "groups"} <= original_data.keys():
            text = "give either 'group' or 'groups', not both"
            raise ValidationError({"groups": [msg("conflict", text)]})

    @validates_schema(skip_on_field_errors=True)
    def _group_scope(self, data: Any, **kw: Any) -> None:
        """A group rule (issue #19) needs a group to add up, and alerts about the group: an
        action that needs one SKU×warehouse has nothing to act on."""
        if data.get("per") != "group_warehouse":
            return
        errors: dict[str, Any] = {}
        if not data.get("group") and not data.get("groups"):
            errors["per"] = [msg("required", "a rule with 'per: group_warehouse' adds up a "
                                             "group: give it 'group' (or 'groups')")]
        for index, action in enumerate(data.get("actions") or ()):
            kind = action.get("kind") if isinstance(action, Mapping) else None
            if kind in PAIR_ACTIONS:
                errors.setdefault("actions", {})[index] = {kind: [msg(
                    "invalid", f"{kind} acts on one SKU in one warehouse, but this rule alerts "
                               "once per group and warehouse; use create_task or notify")]}
        if errors:
            raise ValidationError(errors)


class CalendarSchema(DocSchema):
    """One named period of ``calendars`` (issue #16)."""

    id = Id(required=True)
    name = Text()
    kind = Choice(CALENDAR_KINDS)
    start = Day(required=True, data_key="from")
    end = Day(required=True, data_key="to")
    groups = ListOf(Id(), single=True)
    demand_multiplier = Number(above=0, high=100)
    lead_time_change_days = Number(integer=True, low=-365, high=365)
    yearly = Bool()

    @validates_schema(skip_on_field_errors=True)
    def _dates(self, data: Any, **kw: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError({"to": [msg("out_of_range", f"'to' ({end}) is before 'from' ({start})")]})
        if (end - start).days >= 366:
            text = f"a period lasts at most a year; this one has {(end - start).days + 1} days"
            raise ValidationError({"to": [msg("out_of_range", text)]})


class RulesetSchema(DocSchema):
    ruleset = Text(
        required=True,
        max_length=100,
        error_messages={
            "required": msg(
                "required", "'ruleset' is required: name the rule set, e.g. ruleset: retail-default"
            )
        },
    )
    description = Text(max_length=2000, allow_empty=True)
    settings = Section(SettingsSchema)
    sku_groups = ListOf(Section(GroupSchema))
    roles = ListOf(Section(RoleSchema))
    workflows = ListOf(Section(WorkflowSchema))
    rules = ListOf(Section(RuleSchema))
    calendars = ListOf(Section(CalendarSchema))


def validate_document(
    data: Any, raw_booleans: Mapping[Segments, str] | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Check the document's shape: the clean data (partial when invalid) and every problem."""
    if not isinstance(data, Mapping):
        message = (
            "the rule document must be a set of 'name: value' entries starting with "
            f"'ruleset:'; got {describe(data)}"
        )
        return {}, [Problem((), message, code="type")]
    try:
        return RulesetSchema().load(data), []
    except ValidationError as err:
        valid = err.valid_data if isinstance(err.valid_data, dict) else {}
        problems = [_problem(at, text, raw_booleans or {}) for at, text in flatten(err.messages)]
        return valid, problems


def flatten(messages: Any, at: Segments = ()) -> Iterator[tuple[Segments, str]]:
    """marshmallow's nested messages (keyed by field name and index) as (segments, message)."""
    if isinstance(messages, Mapping):
        for key, sub in messages.items():
            yield from flatten(sub, at if key == "_schema" else (*at, key))
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from flatten(item, at)
    else:
        yield at, str(messages)


def _field_name(at: Segments) -> str:
    """The name a message uses for a location: ``severity``, or ``members[1]`` for an item."""
    names = [i for i, s in enumerate(at) if isinstance(s, str)]
    if not names:
        return ""
    tail = at[names[-1] :]
    return str(tail[0]) if len(tail) == 1 else format_path(tail)


_RAW = re.compile(r"\$raw\((\w+)\)")


def _problem(at: Segments, text: str, raw_booleans: Mapping[Segments, str]) -> Problem:
    code, _, message = text.rpartition(CODE_SEP)
    field = _field_name(at)
    message = message.replace("$path", format_path(at)).replace("$field", field or "the document")
    message = _RAW.sub(lambda m: raw_booleans.get(at, m.group(1)), message)
    return Problem(at, message, code=code or "invalid")
