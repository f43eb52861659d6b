"""Wire format of the imports API (marshmallow schemas for the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields

from engine.imports.plugin import KINDS, MODES


class ImportCountsSchema(Schema):
    """The counts of a run (``engine.imports.store.COUNT_KEYS``)."""

    rows = fields.Integer(metadata={"description": "rows (or records) read"})
    bad = fields.Integer(metadata={"description": "rows that could not be used (see bad_rows)"})
    created = fields.Integer(metadata={"description": "SKUs, warehouses, suppliers created"})
    updated = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "master data rows and stock levels "
                                                        "already as the source says"})
    accepted = fields.Integer(metadata={"description": "stock events accepted by the event path"})
    duplicate = fields.Integer(metadata={"description": "events already in (a re-run, the "
                                                        "overlap window)"})
    rejected = fields.Integer(metadata={"description": "events refused (GET /events/rejected)"})
    reconciled = fields.Integer(metadata={"description": "pairs a complete snapshot did not "
                                                         "list, set to 0"})
    cancelled = fields.Integer(metadata={"description": "moves cancelled at the source"})


class BadRowSchema(Schema):
    id = fields.Integer()
    where = fields.String(metadata={"description": "'row 12', or the page of a network source"})
    row = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    reason = fields.String()
    raw = fields.Dict(allow_none=True, metadata={"description": "the row as read"})


class ImportErrorSchema(Schema):
    where = fields.String()
    message = fields.String()


class ImportRunSummarySchema(Schema):
    id = fields.Integer()
    plugin = fields.String()
    source = fields.String(allow_none=True)
    kind = fields.String(allow_none=True, metadata={"enum": list(KINDS)})
    mode = fields.String(metadata={"enum": list(MODES)})
    state = fields.String(metadata={"enum": ["queued", "running", "done", "failed",
                                             "interrupted"]})
    file_name = fields.String(allow_none=True)
    options = fields.Dict()
    actor = fields.String()
    pages = fields.Integer()
    progress_done = fields.Float(allow_none=True)
    progress_total = fields.Float(allow_none=True,
                                  metadata={"description": "bytes of a CSV, rows of a sheet"})
    counts = fields.Nested(ImportCountsSchema)
    errors = fields.List(fields.Nested(ImportErrorSchema))
    message = fields.String(allow_none=True)
    cursor = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class ImportRunSchema(ImportRunSummarySchema):
    bad_rows = fields.List(fields.Nested(BadRowSchema), metadata={
        "description": "the first bad rows (?bad_rows=N), each with its row, column and reason"})


class ImportRunPageSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ImportRunSummarySchema))


class ImportStartedSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    url = fields.String(metadata={"description": "GET it for the state, progress and counts"})


class SourceRunRequestSchema(Schema):
    source = fields.String(metadata={"description": "a configured source (network importers)"})
    options = fields.Dict(metadata={"description": "or the importer's options at once"})
    kind = fields.String(metadata={"enum": list(KINDS)})
    mode = fields.String(metadata={"enum": list(MODES)})
    dry_run = fields.Boolean()


class FileRunFormSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)
    kind = fields.String(metadata={"enum": list(KINDS), "description": "default: told from "
                                                                       "the columns"})
    map = fields.String(metadata={"description": "field=column,… e.g. sku=存货编码,on_hand=现存数量"})
    skip_bad = fields.Boolean(metadata={"description": "import the good rows of a file with "
                                                       "bad rows"})
    dry_run = fields.Boolean()
    encoding = fields.String(metadata={"description": "csv: default detected"})
    delimiter = fields.String(metadata={"description": "csv: default detected"})
    sheet = fields.String(metadata={"description": "excel: default the first sheet"})


class ImportOptionSchema(Schema):
    name = fields.String()
    help = fields.String()
    help_zh = fields.String()
    required = fields.Boolean()
    secret = fields.Boolean()


class ImporterSchema(Schema):
    name = fields.String()
    label = fields.Dict()
    reads_files = fields.Boolean()
    options = fields.List(fields.Nested(ImportOptionSchema))


class PreviewSchema(Schema):
    file = fields.String()
    kind = fields.String()
    header_row = fields.Integer()
    columns = fields.Dict(metadata={"description": "canonical field -> column"})
    ignored = fields.List(fields.String(), metadata={"description": "columns not used"})
    headers = fields.List(fields.String(), metadata={"description": "the header row, in order"})
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={
        "description": "the fields of the kind: {required: [...], optional: [...]}"})
    notes = fields.List(fields.String())
    records = fields.List(fields.Dict())
    bad_rows = fields.List(fields.Nested(BadRowSchema))
