"""The import engine's messages in the viewer's language.

The engine (engine/imports, plugins/importers) knows nothing of Flask or of the viewer: it says
what went wrong in English, with the values that matter (a row, a column, a code) in fixed
shapes, and the command line prints them as they are. The pages read those shapes here and
say the same in Chinese or English, the values kept as they are. A message of no known shape
(a third-party importer's, an ERP's own words) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

Render = Callable[[re.Match[str]], str]


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern + r"$", re.S)


# A reason about one cell or record (a bad row's reason, after its column).
_REASONS: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"is empty"), lambda m: _("is empty")),
    (_r(r"is required"), lambda m: _("is required")),
    (_r(r"must be greater than 0"), lambda m: _("must be greater than 0")),
    (_r(r"'(?P<v>.*)' is not a finite number"), lambda m: _("'%(v)s' is not a finite number",
                                                             v=m["v"])),
    (_r(r"'(?P<v>.*)' is not a number"), lambda m: _("'%(v)s' is not a number", v=m["v"])),
    (_r(r"a date is required"), lambda m: _("a date is required")),
    (_r(r"'(?P<v>.*)' is not a real date"), lambda m: _("'%(v)s' is not a real date", v=m["v"])),
    (_r(r"'(?P<v>.*)' is not a date \(use 2024-05-01, 2024/5/1 or 2024年5月1日\)"),
     lambda m: _("'%(v)s' is not a date (use 2024-05-01, 2024/5/1 or 2024年5月1日)", v=m["v"])),
    (_r(r"'(?P<v>.*)' is not a date \(as an Excel serial number it is out of range\)"),
     lambda m: _("'%(v)s' is not a date (as an Excel serial number it is out of range)",
                 v=m["v"])),
    (_r(r"'(?P<v>.*)' is not yes/no \(是/否\)"), lambda m: _("'%(v)s' is not yes/no (是/否)",
                                                           v=m["v"])),
    (_r(r"'(?P<v>.*)' is not a movement type \(.*\)"),
     lambda m: _("'%(v)s' is not a movement type (sale/销售, receipt/入库, issue/领用, "
                 "return/退货, adjustment/盘盈/盘亏, count/盘点, transfer/调拨, reserve, release)",
                 v=m["v"])),
    (_r(r"'(?P<v>.*)' is not a status \(.*\)"),
     lambda m: _("'%(v)s' is not a status (open/执行中, done/已完成, cancelled/作废)", v=m["v"])),
    (_r(r"(?P<what>.*) is already in (?P<first>.*)"),
     lambda m: _("%(what)s is already in %(first)s", what=_what(m["what"]),
                 first=where(m["first"]))),
    (_r(r"'(?P<v>.*)' is not a code: (?P<why>.*)"),
     lambda m: _("'%(v)s' is not a code: %(why)s", v=m["v"], why=m["why"])),
    (_r(r"supplier '(?P<v>.*)' does not exist; import the suppliers first, or give its lead "
        r"time to create it"),
     lambda m: _("supplier '%(v)s' does not exist; import the suppliers first, or give its "
                 "lead time to create it", v=m["v"])),
    (_r(r"supplier '(?P<v>.*)' is new: its lead time \(lead_time_days, 提前期\) is needed"),
     lambda m: _("supplier '%(v)s' is new: its lead time (lead_time_days, 提前期) is needed",
                 v=m["v"])),
    (_r(r"SKU '(?P<v>.*)' does not exist"), lambda m: _("SKU '%(v)s' does not exist", v=m["v"])),
    (_r(r"'(?P<v>.*)' is the name of several warehouses \((?P<codes>.*)\): use the code"),
     lambda m: _("'%(v)s' is the name of several warehouses (%(codes)s): use the code",
                 v=m["v"], codes=m["codes"])),
    (_r(r"warehouse '(?P<v>.*)' does not exist \(neither a code nor a name\)"),
     lambda m: _("warehouse '%(v)s' does not exist (neither a code nor a name)", v=m["v"])),
    (_r(r"warehouse '(?P<v>.*)' does not exist"),
     lambda m: _("warehouse '%(v)s' does not exist", v=m["v"])),
    (_r(r"(?P<v>\S+) is negative: a stock snapshot cannot set a negative quantity; correct it "
        r"in the source"),
     lambda m: _("%(v)s is negative: a stock snapshot cannot set a negative quantity; correct "
                 "it in the source", v=m["v"])),
    (_r(r"quantities must not be negative"), lambda m: _("quantities must not be negative")),
    (_r(r"the same event \((?P<id>.*)\) as (?P<first>.*): one row per SKU, warehouse and day, "
        r"or an id or ref column to tell them apart"),
     lambda m: _("the same event (%(id)s) as %(first)s: one row per SKU, warehouse and day, or "
                 "an id or ref column to tell them apart", id=m["id"], first=where(m["first"]))),
]

# What an ERP's record lacks (network importers)
_REASONS += [
    (_r(r"the product has no internal reference \(default_code\)"),
     lambda m: _("the product has no internal reference (default_code)")),
    (_r(r"product (?P<p>.*) has no internal reference \(default_code\)"),
     lambda m: _("product %(p)s has no internal reference (default_code)", p=m["p"])),
    (_r(r"unit of measure id (?P<a>\S+) or (?P<b>\S+) is unknown"),
     lambda m: _("unit of measure id %(a)s or %(b)s is unknown", a=m["a"], b=m["b"])),
    (_r(r"the order's operation type has no warehouse"),
     lambda m: _("the order's operation type has no warehouse")),
    (_r(r"the quantity is empty"), lambda m: _("the quantity is empty")),
    (_r(r"the quantity (?P<v>.*) is not a number"),
     lambda m: _("the quantity %(v)s is not a number", v=m["v"])),
    (_r(r"the code is empty"), lambda m: _("the code is empty")),
    (_r(r"(?P<v>.*) is not a date and time"),
     lambda m: _("%(v)s is not a date and time", v=m["v"])),
    (_r(r"(?P<v>.*) is not a time"), lambda m: _("%(v)s is not a time", v=m["v"])),
    (_r(r"(?P<v>.*) is no movement type \((?P<types>.*)\)"),
     lambda m: _("%(v)s is no movement type (%(types)s)", v=m["v"], types=m["types"])),
]

# A whole message: why a file or source could not be read, how a run ended.
_MESSAGES: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"checked: (?P<n>\d+) records, (?P<bad>\d+) bad rows; nothing was imported \(dry run\)"),
     lambda m: _("checked: %(n)s records, %(bad)s bad rows; nothing was imported (dry run)",
                 n=m["n"], bad=m["bad"])),
    (_r(r"(?P<bad>\d+) bad row\(s\); nothing was imported \(fix them, or import the rest with "
        r"skip_bad / --skip-bad\)"),
     lambda m: _("%(bad)s bad row(s); nothing was imported (fix them, or import the rest "
                 "with “skip bad rows”)", bad=m["bad"])),
    (_r(r"stopped by Ctrl-C after the last committed page; .*"),
     lambda m: _("stopped after the last committed page; run it again to import the rest")),
    (_r(r"the source was deleted"), lambda m: _("the source was deleted")),
    (_r(r"a file is required"), lambda m: _("a file is required")),
    (_r(r"no such file"), lambda m: _("no such file")),
    (_r(r"this is an \.xlsx \(zip\) file, not CSV: use `import excel`"),
     lambda m: _("this is an .xlsx (zip) file, not CSV: import it as Excel")),
    (_r(r"this is an old Excel \.xls file: save it as \.xlsx or CSV"),
     lambda m: _("this is an old Excel .xls file: save it as .xlsx or CSV")),
    (_r(r"this is not a text \(CSV\) file: it holds binary data"),
     lambda m: _("this is not a text (CSV) file: it holds binary data")),
    (_r(r"unknown encoding '(?P<v>.*)'"), lambda m: _("unknown encoding '%(v)s'", v=m["v"])),
    (_r(r"near line (?P<n>\d+): the file is not valid (?P<enc>\S+) \((?P<why>.*)\); give the "
        r"right --encoding"),
     lambda m: _("near line %(n)s: the file is not valid %(enc)s (%(why)s); choose the right "
                 "encoding", n=m["n"], enc=m["enc"], why=m["why"])),
    (_r(r"line (?P<n>\d+): (?P<why>.*)"),
     lambda m: _("line %(n)s: %(why)s", n=m["n"], why=m["why"])),
    (_r(r"this is not a readable \.xlsx workbook \((?P<why>.*)\)"),
     lambda m: _("this is not a readable .xlsx workbook (%(why)s)", why=m["why"])),
    (_r(r"no sheet '(?P<v>.*)'; the sheets are (?P<all>.*)"),
     lambda m: _("no sheet '%(v)s'; the sheets are %(all)s", v=m["v"], all=m["all"])),
    (_r(r"no header row with the columns a (?P<kind>\S+) file needs in its first (?P<n>\d+) "
        r"rows: missing (?P<missing>.*?) \(first row: (?P<first>.*)\); name them with --map, "
        r"e\.g\. .*"),
     lambda m: _("no header row with the columns a file of %(kind)s needs in its first %(n)s "
                 "rows: missing %(missing)s (first row: %(first)s); name the columns below",
                 kind=kind_label(m["kind"]), n=m["n"], missing=fields(m["missing"]),
                 first=m["first"])),
    (_r(r"could not tell what the file holds: no row among the first (?P<n>\d+) has the "
        r"columns of any kind; give --kind and --map"),
     lambda m: _("could not tell what the file holds: no row among the first %(n)s has the "
                 "columns of any kind; name the header row and its columns below", n=m["n"])),
    (_r(r"no answer from (?P<url>\S+) within (?P<s>\S+) s"),
     lambda m: _("no answer from %(url)s within %(s)s s", url=m["url"], s=m["s"])),
    (_r(r"cannot connect to (?P<url>\S+): (?P<why>.*)"),
     lambda m: _("cannot connect to %(url)s: %(why)s", url=m["url"], why=m["why"])),
    (_r(r"the source keeps answering 429.*"),
     lambda m: _("the source keeps answering 429 (too many requests); try again later")),
    (_r(r"HTTP (?P<status>40[13]): (?P<why>.*)"),
     lambda m: _("the source refused the credentials (HTTP %(status)s): %(why)s",
                 status=m["status"], why=m["why"])),
    (_r(r"HTTP 404 for (?P<path>\S+): (?P<why>.*)"),
     lambda m: _("HTTP 404 for %(path)s: %(why)s", path=m["path"], why=m["why"])),
    (_r(r"the answer is not JSON: (?P<text>.*)"),
     lambda m: _("the answer is not JSON: %(text)s", text=m["text"])),
    (_r(r"(?P<url>.*) is no http:// or https:// address"),
     lambda m: _("%(url)s is no http:// or https:// address", url=m["url"])),
    (_r(r"the answer has no '(?P<v>\w+)' list"),
     lambda m: _("the answer has no '%(v)s' list", v=m["v"])),
    (_r(r"no such table \(or no permission to read it\).*"),
     lambda m: _("no such table (or no permission to read it)")),
    (_r(r"(?P<model>\S+) has no field (?P<field>.*)"),
     lambda m: _("%(model)s has no field %(field)s", model=m["model"], field=m["field"])),
]


def kind_label(kind: str) -> str:
    from admin.web.import_labels import KIND_LABELS

    return str(KIND_LABELS.get(kind, kind))


def fields(names: str) -> str:
    from admin.web.import_labels import FIELD_LABELS

    out = []
    for name in names.split(", "):
        key = name.split(" ")[0]
        out.append(str(FIELD_LABELS[key]) if key in FIELD_LABELS else name)
    return ("、" if _is_zh() else ", ").join(out)


def _is_zh() -> bool:
    from admin.web.i18n import language

    return language() == "zh"


_NOTES: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"encoding (?P<enc>\S+), delimiter (?P<d>.*)"),
     lambda m: _("encoding %(enc)s, delimiter %(d)s", enc=m["enc"], d=m["d"])),
    (_r(r"sheet (?P<s>.*)"), lambda m: _("sheet %(s)s", s=m["s"])),
    (_r(r"column '(?P<col>.*)' also looks like '(?P<f>\w+)'; using '(?P<used>.*)'"),
     lambda m: _("column '%(col)s' also looks like %(field)s; using '%(used)s'", col=m["col"],
                 field=fields(m["f"]), used=m["used"])),
]


_CONNECTED: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"Odoo (?P<v>\S+), database (?P<db>.*): (?P<p>\d+) storable products, (?P<w>\d+) "
        r"warehouses"),
     lambda m: _("Odoo %(v)s, database %(db)s: %(p)s storable products, %(w)s warehouses",
                 v=m["v"], db=m["db"], p=m["p"], w=m["w"])),
    (_r(r"ERPNext at (?P<url>\S+) as (?P<user>.*): stock levels readable"),
     lambda m: _("ERPNext at %(url)s as %(user)s: stock levels readable", url=m["url"],
                 user=m["user"])),
    (_r(r"ERPNext at (?P<url>\S+) as (?P<user>.*): no Bin"),
     lambda m: _("ERPNext at %(url)s as %(user)s: no stock levels (Bin) readable",
                 url=m["url"], user=m["user"])),
    (_r(r"K/3 Cloud account set (?P<acct>\S+) as (?P<user>.*): stock readable"),
     lambda m: _("K/3 Cloud account set %(acct)s as %(user)s: stock readable",
                 acct=m["acct"], user=m["user"])),
    (_r(r"K/3 Cloud account set (?P<acct>\S+) as (?P<user>.*): no stock rows .*"),
     lambda m: _("K/3 Cloud account set %(acct)s as %(user)s: no stock rows (or no permission "
                 "to query)", acct=m["acct"], user=m["user"])),
    (_r(r"U8 database (?P<db>.*): (?P<n>\d+) CurrentStock rows"),
     lambda m: _("U8 database %(db)s: %(n)s CurrentStock rows", db=m["db"], n=m["n"])),
    (_r(r"Jiandaoyun form (?P<form>\S+): (?P<map>.*); has data"),
     lambda m: _("Jiandaoyun form %(form)s: %(map)s; has data", form=m["form"], map=m["map"])),
    (_r(r"Jiandaoyun form (?P<form>\S+): (?P<map>.*); no data"),
     lambda m: _("Jiandaoyun form %(form)s: %(map)s; no data yet", form=m["form"],
                 map=m["map"])),
]


def connected(text: str) -> str:
    """What a connection test found."""
    return _first(_CONNECTED, text) or text


def note(text: str) -> str:
    """A note on how a file was read (its encoding, its sheet, a column that looks like
    another)."""
    return _first(_NOTES, text) or text


_WHERE: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"row (?P<n>\d+)"), lambda m: _("row %(n)s", n=m["n"])),
    (_r(r"rows (?P<a>\d+)–(?P<b>\d+)"), lambda m: _("rows %(a)s–%(b)s", a=m["a"], b=m["b"])),
    (_r(r"end of file"), lambda m: _("end of file")),
    (_r(r"an earlier record"), lambda m: _("an earlier record")),
    (_r(r"option --(?P<o>\S+)"), lambda m: _("option %(o)s", o=m["o"])),
    (_r(r"table (?P<t>\S+)"), lambda m: _("table %(t)s", t=m["t"])),
    (_r(r"request"), lambda m: _("request")),
    (_r(r"source"), lambda m: _("source")),
    (_r(r"mapping"), lambda m: _("mapping")),
]

_WHAT: list[tuple[re.Pattern[str], Render]] = [
    (_r(r"code '(?P<v>.*)'"), lambda m: _("code '%(v)s'", v=m["v"])),
    (_r(r"SKU '(?P<sku>.*)' in warehouse '(?P<wh>.*)'"),
     lambda m: _("SKU '%(sku)s' in warehouse '%(wh)s'", sku=m["sku"], wh=m["wh"])),
    (_r(r"line (?P<line>.*) of order (?P<po>.*)"),
     lambda m: _("line %(line)s of order %(po)s", line=m["line"], po=m["po"])),
]


def _first(table: list[tuple[re.Pattern[str], Render]], text: str) -> str | None:
    for pattern, render in table:
        found = pattern.match(text)
        if found:
            return render(found)
    return None


_PAGE = re.compile(r"\bpage (\d+)\b")
_AFTER = re.compile(r"\(after ([^()]*)\)")


def where(text: str | None) -> str:
    """A place: "row 12", "rows 2–1001", "option --url"; an ERP's page ("product.product
    page 2 (after 2024-05-20 07:00:20 id 2), product id 3") with its words said and its
    names (models, tables, ids) as they are."""
    if not text:
        return ""
    found = _first(_WHERE, text)
    if found is not None:
        return found
    text = _PAGE.sub(lambda m: _("page %(n)s", n=m[1]), text)
    return _AFTER.sub(lambda m: _("(after %(v)s)", v=m[1]), text)


def _what(text: str) -> str:
    return _first(_WHAT, text) or text


def reason(text: str | None) -> str:
    """A bad row's reason ("销量: '五' is not a number"): the column kept, the rest said in
    the viewer's language."""
    if not text:
        return ""
    column, sep, rest = text.partition(": ")  # the column first: "商品编码: code '1' is …"
    if sep:
        found = _first(_REASONS, rest)
        if found is not None:
            return f"{column}: {found}"
    found = _first(_REASONS, text)
    if found is not None:
        return found
    return message(text)


def message(text: str | None) -> str:
    """A run's message or a failure's reason; "source: where: reason" kept in its shape."""
    if not text:
        return ""
    found = _first(_MESSAGES, text) or _first(_REASONS, text)
    if found is not None:
        return found
    parts = text.split(": ", 2)
    if len(parts) == 3:  # ImportFailed: "{source}: {where}: {reason}"
        inner = _first(_MESSAGES, parts[2]) or _first(_REASONS, parts[2])
        if inner is not None:
            return f"{parts[0]}: {where(parts[1])}: {inner}"
    if len(parts) >= 2:
        rest = text.split(": ", 1)[1]
        inner = _first(_MESSAGES, rest) or _first(_REASONS, rest)
        if inner is not None:
            return f"{where(parts[0])}: {inner}"
    return text


def init_app(app: Any) -> None:
    app.jinja_env.filters.update(import_message=message, import_reason=reason,
                                 import_where=where, import_note=note)
