"""Every table of the product, in one ``MetaData`` that Alembic migrations are generated from."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from engine.storage.types import Json, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# States in which an alert still counts as open (one per rule+SKU+warehouse, enforced below).
OPEN_ALERT_STATES = ("open", "acknowledged")
# The partial index's predicate, as literal SQL: PostgreSQL infers the arbiter index of an
# ON CONFLICT only from the same literal predicate (a bound parameter fails once the statement
# runs as a prepared generic plan).
OPEN_TASK_PREDICATE = "closed IS false"  # as ``tasks.c.closed.is_(False)`` renders
URGENCY_RANK = ("(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
                "WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END)")  # queries.SEVERITY_RANK
RAN_OUT_PREDICATE = "(((facts -> 'stock') ->> 'available')::float) <= 0"  # kpis._days, PG
OPEN_ALERT_PREDICATE = "state IN ('open', 'acknowledged')"
# A stock level with nothing available, as the dashboard counts them (issue #18): the partial
# index ix_stock_levels_empty holds only those, and the query repeats this predicate.
EMPTY_STOCK_PREDICATE = "on_hand - reserved <= 0"
POSTGRESQL_ONLY = {"dialect": "postgresql"}  # Index.info of indexes only PostgreSQL has
# indexes on expressions, which alembic cannot compare with the database's (test_migrations
# leaves them out; tests/engine/services/test_inbox_indexes.py checks the plans use them)
EXPRESSION_INDEXES = frozenset({"ix_tasks_open_urgency", "ix_tasks_open_due"})

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False, server_default=""),
    Column("password_hash", String(256), nullable=True),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("locale", String(8), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("email", String(256), nullable=True),
    Column("phone", String(32), nullable=True),
    # Carried in every page session: bumping it (sign-out, a new password, disabling the user)
    # ends every session of the user at once, on every device (issue #13).
    Column("session_epoch", Integer, nullable=False, server_default="0"),
    # Ids in the chat apps, for robots' @-mentions (issue #18): set by admins or the user.
    Column("wecom_id", String(64), nullable=True),
    Column("dingtalk_id", String(64), nullable=True),
    Column("feishu_id", String(64), nullable=True),
)

# Sign-in attempt counters (the ``limits`` library's fixed windows) when there is no Redis:
# shared by every process on the database, incremented atomically (engine/storage/counters.py).
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),  # seconds since the epoch, as ``limits`` counts
    Index("ix_rate_counters_expires_at", "expires_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex, never the token
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    # full | read | ingest (engine/policy.py Scope): what the token may be used for.
    Column("scope", String(16), nullable=False, server_default="full"),
)

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("region", String(128), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("lead_time_days", Float, nullable=False),
    Column("lead_time_std_days", Float, nullable=False, server_default="0"),
    Column("moq", Float, nullable=False, server_default="0"),
    Column("pack_size", Float, nullable=False, server_default="1"),
    Column("on_time_rate", Float, nullable=True),
    Column("contact", Json, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # issue #19: a buyer marks a supplier unavailable; requisitions with a fallback go elsewhere
    Column("unavailable", Boolean, nullable=False, server_default=text("false")),
)

skus = Table(
    "skus",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("category", String(128), nullable=True),
    Column("tags", Json, nullable=False),
    Column("unit", String(32), nullable=False, server_default="EA"),
    Column("unit_cost", Float, nullable=False, server_default="0"),
    Column("abc_class", String(1), nullable=True),
    Column("abc_given", Boolean, nullable=False, server_default=text("false")),
    Column("attributes", Json, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_skus_category", "category"),  # the master data pages' filter
    # The inbox's search of a SKU by any part of its code or name (issue #18): trigram
    # indexes (pg_trgm) answer ILIKE '%…%'; SQLite reads every SKU.
    Index("ix_skus_code_trgm", "code", postgresql_using="gin",
          postgresql_ops={"code": "gin_trgm_ops"}, info=POSTGRESQL_ONLY),
    Index("ix_skus_name_trgm", "name", postgresql_using="gin",
          postgresql_ops={"name": "gin_trgm_ops"}, info=POSTGRESQL_ONLY),
)

sku_suppliers = Table(
    "sku_suppliers",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), primary_key=True),
    Column("price", Float, nullable=True),
    Column("preferred", Boolean, nullable=False, server_default=text("false")),
    Column("backup", Boolean, nullable=False, server_default=text("false")),
    Index("ix_sku_suppliers_supplier", "supplier_id"),  # a supplier's SKUs
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("on_hand", Float, nullable=False, server_default="0"),
    Column("reserved", Float, nullable=False, server_default="0"),
    # Open purchase orders as the ERP reports them (count events); requisitions raised here
    # are added on top until they are linked to an ERP order by ``ref`` (SPEC §4).
    Column("on_order_erp", Float, nullable=False, server_default="0"),
    Column("erp_on_order_at", UtcDateTime, nullable=True),  # time of the ERP's last snapshot
    # Requisitions raised here and not yet ordered in the ERP (kept with each change of them).
    Column("on_order_local", Float, nullable=False, server_default="0"),
    Column("last_event_at", UtcDateTime, nullable=True),
    Column("last_sale_day", Date, nullable=True),
    # The recent daily demand ([first day ordinal, qty, qty, ...]) so that one row read gives
    # everything an evaluation needs; demand_days keeps the full history.
    Column("demand_window", Json, nullable=True),
    # The same window packed (``DemandWindow.to_packed``), written with it: the whole-catalogue
    # what-if reads every pair's window in one go from this (issue #16), never from the JSON.
    Column("demand_packed", LargeBinary, nullable=True),
    Column("version", Integer, nullable=False, server_default="0"),
    Index("ix_stock_levels_warehouse", "warehouse_id"),  # a warehouse's stock
    # The dashboard's levels out of stock, a few among 1M (issue #18).
    Index("ix_stock_levels_empty", "sku_id", "warehouse_id",
          sqlite_where=text(EMPTY_STOCK_PREDICATE), postgresql_where=text(EMPTY_STOCK_PREDICATE)),
)

demand_days = Table(
    "demand_days",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("qty", Float, nullable=False),
)

# The demand forecast of each SKU×warehouse whose groups ask for one (issue #16): the fitted
# model (engine.forecast.Model.to_dict), recomputed by the daily job over every series at once.
forecasts = Table(
    "forecasts",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("method", String(16), nullable=False),
    Column("model", Json, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
)

# What ``stock_events.c.applied.is_(False)`` compiles to, per dialect: a partial index is used
# only for a query whose WHERE says the same.
UNAPPLIED = {"sqlite": "applied IS 0", "postgresql": "applied IS false"}

stock_events = Table(
    "stock_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("qty", Float, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("ref", String(128), nullable=True),
    Column("payload", Json, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # False while recorded but not yet applied by an apply job (production runtime).
    Column("applied", Boolean, nullable=False, server_default=text("true")),
    # The apply_events outbox row that announced this event (production runtime).
    Column("batch_id", Integer, nullable=True, index=True),
    Index("ix_stock_events_sku_wh_at", "sku_id", "warehouse_id", "at"),
    # The apply job's "recorded, not applied yet, in id order": a handful of rows among
    # millions; without it, a walk of the whole table on every pass.
    Index("ix_stock_events_unapplied", "id", sqlite_where=text(UNAPPLIED["sqlite"]),
          postgresql_where=text(UNAPPLIED["postgresql"])),
)

rejected_events = Table(
    "rejected_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(128), nullable=True, index=True),
    Column("payload", Json, nullable=True),
    Column("raw", Text, nullable=True),
    Column("errors", Json, nullable=False),
    Column("source", String(64), nullable=False, server_default="api"),
    Column("received_at", UtcDateTime, nullable=False),
    Column("replayed_at", UtcDateTime, nullable=True),
    Column("state", String(16), nullable=False, server_default="pending"),  # pending|replayed
)

ruleset_versions = Table(
    "ruleset_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("name", String(128), nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("format", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("checksum", String(64), nullable=False),
)

# A single row that says which version runs; ``revision`` guards concurrent edits (409).
ruleset_state = Table(
    "ruleset_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("active_version", Integer, ForeignKey("ruleset_versions.number"), nullable=True),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=True),
    # Bumped by every master-data change so each process knows to refresh its caches.
    Column("catalog_revision", Integer, nullable=False, server_default="0"),
    # issue #19: the last lead_time_observations id the snapshots' learned lead times include
    Column("learned_through", Integer, nullable=False, server_default="0"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False, server_default=""),
    Column("detail", Json, nullable=True),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("state", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("last_hit_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", String(64), nullable=True),
    Column("hits", Integer, nullable=False, server_default="1"),
    Column("facts", Json, nullable=False),
    # A group rule's alert (issue #19): the group it adds up; None for a SKU×warehouse alert
    Column("scope_key", String(64), nullable=True),
    Index("ix_alerts_key_resolved", "rule", "sku_id", "warehouse_id", "resolved_at"),
    # Ingest reads the alerts of a batch's SKU×warehouse pairs: without it, a scan per query.
    Index("ix_alerts_pair", "sku_id", "warehouse_id"),
    # Reports and the dashboard's trend read alerts by the time they opened (issue #18).
    Index("ix_alerts_opened_at", "opened_at"),
    # The dashboard's open alerts by SKU×warehouse and severity, read from the index alone
    # (50k open alerts, issue #18).
    Index("ix_alerts_open_pair_severity", "sku_id", "warehouse_id", "severity",
          sqlite_where=text(OPEN_ALERT_PREDICATE), postgresql_where=text(OPEN_ALERT_PREDICATE)),
    # The report's and dashboard's stock-outs per day: the alerts whose facts saw nothing
    # available, by opening time (kpis._days; PostgreSQL, migration 0024).
    Index("ix_alerts_ran_out", "opened_at", "sku_id", "warehouse_id",
          postgresql_where=text(RAN_OUT_PREDICATE), info=POSTGRESQL_ONLY),
    # At most one open alert per rule+SKU+warehouse, enforced by the database (issue #3).
    Index(
        "uq_alerts_one_open",
        "rule",
        "sku_id",
        "warehouse_id",
        unique=True,
        sqlite_where=text(OPEN_ALERT_PREDICATE),
        postgresql_where=text(OPEN_ALERT_PREDICATE),
    ),
    # At most one open alert per group rule+group+warehouse (issue #19)
    Index(
        "uq_alerts_one_open_group",
        "rule",
        "warehouse_id",
        "scope_key",
        unique=True,
        sqlite_where=text(OPEN_ALERT_PREDICATE),
        postgresql_where=text(OPEN_ALERT_PREDICATE),
    ),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=True),
    Column("action_key", String(64), nullable=False),
    Column("title", String(512), nullable=False),
    Column("workflow", String(64), nullable=False),
    Column("state", String(64), nullable=False),
    Column("closed", Boolean, nullable=False, server_default=text("false")),
    Column("role", String(64), nullable=True),
    Column("assignee", String(64), nullable=True),
    Column("severity", String(16), nullable=False, server_default="medium"),
    Column("due_at", UtcDateTime, nullable=True),
    Column("data", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # The SKU×warehouse of its alert, copied when the task is made (an alert's pair never
    # changes): the inbox counts and sorts 50k open tasks by pair without joining the alerts.
    Column("sku_id", Integer, nullable=True),
    Column("warehouse_id", Integer, nullable=True),
    # An alert's action runs once: a replayed evaluation cannot add a second task.
    UniqueConstraint("alert_id", "action_key", name="uq_tasks_alert_action"),
    # The inbox: open tasks of some roles, most urgent first (issue #18, 50k open tasks).
    Index("ix_tasks_closed_role_due", "closed", "role", "due_at"),
    Index("ix_tasks_assignee", "assignee"),
    Index("ix_tasks_created_at", "created_at"),
    # The inbox's count of SKU×warehouse cases: the open tasks' pairs, read from the index
    # alone in pair order (issue #18, 50k open tasks; migration 0024).
    Index("ix_tasks_open_pair", "sku_id", "warehouse_id", "role", "assignee", "due_at",
          sqlite_where=text(OPEN_TASK_PREDICATE), postgresql_where=text(OPEN_TASK_PREDICATE)),
    # The inbox's first page most urgent first (inbox._order "urgency", SEVERITY_RANK as the
    # CASE PostgreSQL plans it with the query's values): the first rows of the index, not a sort
    # of every open task (migration 0024).
    Index("ix_tasks_open_urgency", "closed", text(URGENCY_RANK), text("(due_at IS NULL)"),
          "due_at", "id", postgresql_where=text(OPEN_TASK_PREDICATE), info=POSTGRESQL_ONLY),
    # and by due time (inbox._order "due": the overdue list), the rank sorted within a time
    Index("ix_tasks_open_due", "closed", text("(due_at IS NULL)"), "due_at",
          postgresql_where=text(OPEN_TASK_PREDICATE), info=POSTGRESQL_ONLY),
)

task_history = Table(
    "task_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("transition", String(64), nullable=False),
    Column("from_state", String(64), nullable=True),
    Column("to_state", String(64), nullable=False),
    Column("data", Json, nullable=True),
    Index("ix_task_history_task", "task_id"),
)

requisitions = Table(
    "requisitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=True),
    Column("action_key", String(64), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=True),
    Column("quantity", Float, nullable=False),
    Column("unit_price", Float, nullable=True),
    Column("amount", Float, nullable=True),
    Column("state", String(32), nullable=False),
    Column("approval_role", String(64), nullable=True),
    Column("ref", String(128), nullable=True),
    # True once the ERP's own on_order includes this (ordered) requisition: then it no longer
    # counts in stock_levels.on_order_local, so it is never counted twice (SPEC §4).
    Column("counted_by_erp", Boolean, nullable=False, server_default=text("false")),
    Column("ordered_at", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # Approvals given so far in the requisition's chain of levels (issue #18): approval_role is
    # the role of the level that must approve next.
    Column("approval_level", Integer, nullable=False, server_default="0"),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=True,
           index=True),
    # issue #19: the arrival a supplier_delay announced (None: ordered_at + the lead time)
    Column("eta", UtcDateTime, nullable=True),
    UniqueConstraint("alert_id", "action_key", name="uq_requisitions_alert_action"),
    Index("ix_requisitions_sku_wh_state", "sku_id", "warehouse_id", "state"),
    Index("ix_requisitions_state_created", "state", "created_at"),
)

# Approved requisitions of one supplier merged into one order to send or export (issue #18).
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("state", String(16), nullable=False, server_default="draft"),  # draft | sent | cancelled
    Column("note", Text, nullable=False, server_default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("eta", UtcDateTime, nullable=True),  # issue #19: the latest a supplier_delay set
)

# A supplier's announced delay of an order (a supplier_delay event, issue #19): the order's
# ref, the new ETA, how many days after the promised arrival, and how many lines it moved.
supplier_delays = Table(
    "supplier_delays",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=True),
    Column("eta", UtcDateTime, nullable=False),
    Column("delay_days", Float, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_supplier_delays_supplier_ref", "supplier_id", "ref"),
)

# One receipt of an ordered requisition: its observed lead time (issue #19), from which the
# suppliers' learned lead times and on-time rates are computed.
lead_time_observations = Table(
    "lead_time_observations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("requisition_id", Integer, ForeignKey("requisitions.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("ref", String(128), nullable=True),
    Column("event_id", String(128), nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("lead_time_days", Float, nullable=False),
    Column("promised_days", Float, nullable=False),
    Column("on_time", Boolean, nullable=False),
    Index("ix_lead_time_observations_supplier", "supplier_id", "received_at"),
)

requisition_history = Table(
    "requisition_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "requisition_id",
        Integer,
        ForeignKey("requisitions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("transition", String(64), nullable=False),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=False),
    Column("data", Json, nullable=True),
    Index("ix_requisition_history_req", "requisition_id"),
)

# Messages to deliver (notify actions): written with the alert, delivered by the runtime.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=True),
    Column("task_id", Integer, ForeignKey("tasks.id"), nullable=True),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("recipients", Json, nullable=False),
    Column("subject", String(512), nullable=False, server_default=""),
    Column("message", Text, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    # issue #17: the role a rule's notice was for (rate limits, quiet hours, digests count per
    # role and channel); "daily" for a notice waiting for its digest, "digest" for a digest
    # itself; when a held notice may go (quiet hours)
    Column("role", String(64), nullable=True),
    Column("digest", String(16), nullable=True),
    Column("held_until", UtcDateTime, nullable=True),
    # the digest queue (by state, every sweep) and the rate limit's count (state, role, channel)
    Index("ix_notifications_state_role", "state", "role", "channel"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id"), nullable=True),
    Column("level", Integer, nullable=False),
    Column("to_role", String(64), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("cancelled_at", UtcDateTime, nullable=True),
    UniqueConstraint("alert_id", "level", name="uq_escalations_alert_level"),
    Index("ix_escalations_due", "fired_at", "due_at"),
)

# The transactional outbox: work for a job, written in the same transaction as its cause.
# A relay hands pending rows to the queue; the job marks its row done in the transaction of
# its effects, so a row is done exactly when its effects exist (RELIABILITY §1.2).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_status_available", "status", "available_at"),
)

# A ruleset activation's evaluation of its changed rules over the current stock (#17): one row
# per activation, a job with its progress; alerts of removed rules are resolved by it too.
rule_runs = Table(
    "rule_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("previous", Integer, nullable=True),
    Column("actor", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("phase", String(16), nullable=True),  # checking | applying
    Column("rules", Json, nullable=False),  # the ids of the rules the activation changed
    Column("progress_done", Float, nullable=False, server_default="0"),
    Column("progress_total", Float, nullable=False, server_default="0"),
    Column("counts", Json, nullable=False),
    Column("message", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rule_runs_state", "state"),
)

# Noise control (issue #17): an alert snoozed until a time or until its pair's stock changes,
# and a rule muted for a SKU, a warehouse or both. Ended and removed rows stay, as history.
alert_snoozes = Table(
    "alert_snoozes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    # the alert's pair, copied: each applied batch looks up its pairs' snoozes without a join
    Column("sku_id", Integer, nullable=False),
    Column("warehouse_id", Integer, nullable=False),
    Column("until", UtcDateTime, nullable=True),
    Column("until_stock_change", Boolean, nullable=False, server_default=text("false")),
    Column("reason", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_by", String(64), nullable=True),
    Column("end_reason", String(16), nullable=True),  # time | stock | unsnoozed | replaced
    Index("ix_alert_snoozes_alert", "alert_id", "ended_at"),
    Index("ix_alert_snoozes_open", "ended_at"),
    Index("ix_alert_snoozes_pair", "sku_id", "warehouse_id", "ended_at"),
)

rule_mutes = Table(
    "rule_mutes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=True),
    Column("until", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removed_by", String(64), nullable=True),
    Index("ix_rule_mutes_open", "removed_at"),
    Index("ix_rule_mutes_sku", "sku_id", "removed_at"),  # each applied batch reads its SKUs'
)

# Leases: which process runs a piece of periodic work now (the embedded default has no RQ
# scheduler; several web processes on one database must not all sweep at once).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# A rule that failed at run time (its budget exceeded, a division by zero): skipped for that
# event, counted here per rule and ruleset version, shown to admins (issue #13).
rule_failures = Table(
    "rule_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),  # budget | error
    Column("message", Text, nullable=False),
    Column("count", Integer, nullable=False, server_default="1"),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("last_sku_id", Integer, ForeignKey("skus.id"), nullable=True),
    Column("last_warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=True),
    Column("last_event_id", String(128), nullable=True),
    UniqueConstraint("rule", "rule_version"),
)

# --- imports (issue #15): configured sources, runs, cursors, and what runs leave for review ---
# A configured source: an importer plugin with its options (secrets encrypted or env:VAR).
import_sources = Table(
    "import_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("plugin", String(64), nullable=False),
    Column("config", Json, nullable=False),
    Column("every_minutes", Integer, nullable=True),  # sync every N minutes (None: by hand)
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One run of an importer: queued → running → done | failed | interrupted, with its counts.
import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("import_sources.id", ondelete="SET NULL"),
           nullable=True, index=True),
    Column("plugin", String(64), nullable=False),
    Column("kind", String(32), nullable=True),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("file", Text, nullable=True),  # the stored file a file importer reads
    Column("file_name", String(256), nullable=True),
    Column("options", Json, nullable=False),  # mapping, encoding, sheet, skip_bad, dry_run …
    Column("actor", String(64), nullable=False),
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("progress_done", Float, nullable=True),
    Column("progress_total", Float, nullable=True),
    Column("counts", Json, nullable=False),
    Column("errors", Json, nullable=False),  # run-level failures: [{where, message}]
    Column("cursor", Json, nullable=True),  # after the last committed page: where to resume
    Column("message", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Where the next incremental run of a source starts ("" = every kind the source reads).
import_cursors = Table(
    "import_cursors",
    metadata,
    Column("source_id", Integer, ForeignKey("import_sources.id", ondelete="CASCADE"),
           primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("cursor", Json, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Rows or records a run could not use: kept for review like rejected events.
import_bad_rows = Table(
    "import_bad_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("import_runs.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("where", String(128), nullable=False),
    Column("row", Integer, nullable=True),
    Column("column", String(256), nullable=True),
    Column("reason", Text, nullable=False),
    Column("raw", Json, nullable=True),
)

# The SKU×warehouse pairs a stock snapshot run has seen: what it did not see is reconciled to 0.
import_seen = Table(
    "import_seen",
    metadata,
    Column("run_id", Integer, ForeignKey("import_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("sku_id", Integer, primary_key=True),
    Column("warehouse_id", Integer, primary_key=True),
)

# Open purchase-order lines as sources report them; on_order per pair is their sum (SPEC §4).
import_po_lines = Table(
    "import_po_lines",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("po", String(128), primary_key=True),
    Column("line", String(128), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id", ondelete="CASCADE"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("supplier", String(64), nullable=True),
    Column("open_qty", Float, nullable=False),
    Column("expected_date", Date, nullable=True),
    Column("run_id", Integer, nullable=True),  # the last run that saw it
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_import_po_lines_pair", "sku_id", "warehouse_id"),
)


# Stock moved between warehouses (issue #19): requested → shipped → received (or cancelled).
# Shipping reserves the quantity at the source; receiving releases it and records a transfer
# event (SPEC §4), so the stock moves through the one event pipeline.
transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=True),
    Column("action_key", String(64), nullable=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("from_warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("to_warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("ship_role", String(64), nullable=True),
    Column("receive_role", String(64), nullable=True),
    Column("explanation", Json, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    UniqueConstraint("alert_id", "action_key", name="uq_transfers_alert_action"),
    Index("ix_transfers_sku_state", "sku_id", "state"),
    Index("ix_transfers_state_created", "state", "created_at"),
)

transfer_history = Table(
    "transfer_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transfer_id", Integer, ForeignKey("transfers.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("transition", String(32), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("data", Json, nullable=False),
    Index("ix_transfer_history_transfer", "transfer_id"),
)
