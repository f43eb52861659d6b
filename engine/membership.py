"""Which SKU groups a SKU×warehouse belongs to, computed once per ruleset and catalogue change.

A group's ``where`` is JsonLogic over ``sku.*`` and ``warehouse.*``. Most groups only read
``sku.*``: those are evaluated once per SKU, not once per SKU×warehouse, which keeps a refresh
of 100k SKUs × 10 warehouses × 50 groups within seconds. Groups that read ``warehouse.*``
are evaluated per warehouse, or per distinct SKU values × warehouse (see ``GroupIndex``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.rules.compiled import CompiledRuleset, SkuGroup


def referenced_roots(logic: Any) -> set[str]:
    """The first segments of every ``var`` in ``logic`` (``{"sku", "warehouse"}``)."""
    roots: set[str] = set()
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for op, args in node.items():
                if op == "var":
                    name = args[0] if isinstance(args, list) and args else args
                    if isinstance(name, str) and name:
                        roots.add(name.split(".")[0])
                    elif name not in (None, ""):
                        roots.add("*")
                stack.append(args)
        elif isinstance(node, list):
            stack.extend(node)
    return roots


def _safe_match(group: SkuGroup, data: Mapping[str, Any]) -> bool:
    if group.where is None:
        return True
    try:
        return bool(_truthy(group.matches(data)))
    except Exception:  # a runtime fault in one group's filter must not hide the others
        return False


def _truthy(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) > 0
    return bool(value)


# Operators whose second operand runs on each item of a list, not on the data.
_SCOPED = frozenset({"map", "filter", "reduce", "all", "some", "none"})


def read_fields(logic: Any) -> frozenset[tuple[str, str]] | None:
    """The ``(root, field)`` pairs (``("sku", "category")``) whose values decide ``logic``.

    None when that cannot be known from the text: a computed ``var`` name, a ``var`` of a whole
    root or of the whole data, ``missing`` of computed names. A deeper path
    (``sku.attributes.color``) counts as its field (``attributes``): the whole value is the key.
    """
    fields: set[tuple[str, str]] = set()
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, Mapping):
            continue
        if len(node) != 1:
            return None
        ((op, args),) = node.items()
        args = args if isinstance(args, list) else [args]
        if op == "var":
            names = args[:1] if args else [""]
            stack.extend(args[1:])  # a default may be an expression
        elif op == "missing":
            names = args
        elif op == "missing_some":
            names = args[1] if len(args) > 1 and isinstance(args[1], list) else [None]
            stack.append(args[0] if args else None)
        else:
            stack.extend(args[:1] + args[2:] if op in _SCOPED else args)
            continue
        for name in names:
            parts = name.split(".") if isinstance(name, str) else []
            if len(parts) < 2:
                return None
            fields.add((parts[0], parts[1]))
    return frozenset(fields)


_ABSENT = object()


def _freeze(value: Any) -> Any:
    """A hashable key equal only for values no JsonLogic expression can tell apart.

    Types are part of the key (``1``, ``1.0`` and ``True`` are one dict key in Python, not in
    JsonLogic); text stands for itself. Raises TypeError for anything else.
    """
    t = type(value)
    if t is str:
        return value
    if value is None or t is int or t is float or t is bool or value is _ABSENT:
        return (t, value)
    if t is list or t is tuple:
        return (t, tuple(map(_freeze, value)))
    if t is dict:
        return (t, tuple((k, _freeze(v)) for k, v in value.items()))
    raise TypeError(f"no key for {t.__name__}")


class _Batch:
    """Groups whose filters read the same fields, answered once per distinct field values.

    35 category groups read only ``sku.category``: 100k SKUs then cost one dict lookup each,
    not 35 evaluations. Filters whose fields are unknown (``read_fields`` is None) form
    batches without a key, evaluated for every SKU.
    """

    __slots__ = ("_answers", "fields", "groups", "positions")

    def __init__(self, fields: tuple[tuple[str, str], ...] | None) -> None:
        self.groups: list[SkuGroup] = []
        self.positions: list[int] = []
        self.fields = fields
        self._answers: dict[Any, tuple[int, ...]] = {}

    def matching(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        """The positions of the groups that contain ``data``."""
        if self.fields is not None:
            try:
                key = tuple(_freeze(data.get(root, _EMPTY).get(name, _ABSENT))
                            for root, name in self.fields)
            except (TypeError, AttributeError):
                key = None
            if key is not None:
                found = self._answers.get(key)
                if found is None:
                    found = self._answers[key] = self._evaluate(data)
                return found
        return self._evaluate(data)

    def _evaluate(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        return tuple(p for p, g in zip(self.positions, self.groups, strict=True)
                     if _safe_match(g, data))


_EMPTY: Mapping[str, Any] = {}


def _batches(groups: list[SkuGroup]) -> list[_Batch]:
    by_fields: dict[Any, _Batch] = {}
    for position, group in enumerate(groups):
        fields = read_fields(group.where) if group.where is not None else frozenset()
        read = tuple(sorted(fields)) if fields is not None else None
        key = read if read is not None else ("unknown", position)
        batch = by_fields.get(key)
        if batch is None:
            batch = by_fields[key] = _Batch(read)
        batch.groups.append(group)
        batch.positions.append(position)
    return list(by_fields.values())


class _Memberships:
    """Group ids of a list of groups for any data, through the batches; equal answers share
    one tuple (100k SKUs have a few thousand distinct memberships)."""

    def __init__(self, groups: list[SkuGroup]) -> None:
        self.ids = [g.id for g in groups]
        self.batches = _batches(groups)
        self._tuples: dict[tuple[int, ...], tuple[str, ...]] = {}

    def of(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        if len(self.batches) == 1:
            positions = self.batches[0].matching(data)
        else:
            positions = tuple(sorted(p for b in self.batches for p in b.matching(data)))
        found = self._tuples.get(positions)
        if found is None:
            ids = self.ids
            found = self._tuples[positions] = tuple(ids[p] for p in positions)
        return found


class GroupIndex:
    """Group membership for every SKU×warehouse, in document order.

    Groups that read only ``sku.*`` are answered per SKU, those that read only
    ``warehouse.*`` per warehouse, and the others (``sku.abc_class`` × ``warehouse.region``)
    per distinct value of the SKU fields they read and warehouse: nothing is kept per pair, so
    100k SKUs × 10 warehouses cost no more memory than 100k SKUs. Filters whose fields cannot
    be known from their text are evaluated per pair, in a bounded cache.
    """

    MAX_PAIRS = 100_000  # pairs remembered for filters of unknown fields, then started afresh

    def __init__(
        self,
        ruleset: CompiledRuleset,
        skus: Iterable[Mapping[str, Any]],
        warehouses: Iterable[Mapping[str, Any]],
    ) -> None:
        self.ruleset = ruleset
        self.warehouses = {w["code"]: w for w in warehouses}
        self._skus: dict[str, Mapping[str, Any]] = {}
        groups = list(ruleset.groups.values())
        self._position = {g.id: i for i, g in enumerate(groups)}
        roots = {g.id: referenced_roots(g.where) for g in groups}
        sku_only = [g for g in groups if roots[g.id] <= {"sku"}]
        wh_only = [g for g in groups if g not in sku_only and roots[g.id] <= {"warehouse"}]
        mixed = [g for g in groups if g not in sku_only and g not in wh_only]
        self._sku_memberships = _Memberships(sku_only) if sku_only else None
        self._wh_memberships = _Memberships(wh_only) if wh_only else None
        self._mixed_memberships = _Memberships(mixed) if mixed else None
        # the SKU fields the mixed groups read, when every one of them is known
        fields = [read_fields(g.where) for g in mixed]
        self._mixed_sku_fields: tuple[str, ...] | None = (
            tuple(sorted({name for fs in fields if fs is not None for root, name in fs
                          if root == "sku"}))
            if all(fs is not None for fs in fields) else None)
        self._by_wh: dict[str | None, tuple[str, ...]] = {}
        # A SKU's *profile*: its sku-only groups and the key of its values of the fields the
        # mixed groups read (or its code when those fields are unknown). 100k SKUs have a few
        # thousand profiles, so the answer per profile × warehouse (``_cells``) is one dict
        # lookup per event, with nothing kept per pair.
        self._profile: dict[str, int] = {}
        self._profiles: list[tuple[tuple[str, ...], Any]] = []
        self._profile_ids: dict[tuple[tuple[str, ...], Any], int] = {}
        self._cells: dict[str | None, dict[int, tuple[str, ...]]] = {}
        self._n_cells = 0
        self._simple = self._wh_memberships is None and self._mixed_memberships is None
        self._key_pool: dict[Any, int] = {}
        self._mixed: dict[tuple[Any, str], tuple[str, ...]] = {}
        # keyed by the ids of the three parts: each is one of the shared tuples of a
        # ``_Memberships`` (or the empty tuple), alive as long as this index
        self._joined: dict[tuple[int, int, int], tuple[str, ...]] = {}
        for sku in skus:
            self.add_sku(sku)

    def add_sku(self, sku: Mapping[str, Any]) -> None:
        """(Re)compute one SKU's memberships, e.g. after its master data changed."""
        code = sku["code"]
        self._skus[code] = sku
        memberships = self._sku_memberships
        base = memberships.of({"sku": sku}) if memberships else ()
        sku_key = self._sku_key(code) if self._mixed_memberships else None
        ident = (base, sku_key)
        profile = self._profile_ids.get(ident)
        if profile is None:
            profile = self._profile_ids[ident] = len(self._profiles)
            self._profiles.append(ident)
        old = self._profile.get(code)
        self._profile[code] = profile
        if old is not None and self._mixed_sku_fields is None and self._mixed_memberships:
            # the mixed groups' fields are unknown: any change of the SKU may change them
            self._mixed = {k: v for k, v in self._mixed.items() if k[0] != code}
            for cells in self._cells.values():
                cells.pop(old, None)

    def profile_of(self, sku_code: str) -> int | None:
        """The SKU's profile: SKUs of one profile are in the same groups in every warehouse
        (``groups_for`` answers per profile × warehouse). None for a SKU not in the catalogue."""
        return self._profile.get(sku_code)

    @property
    def profiles_bounded(self) -> bool:
        """True when profiles are as many as SKUs (the mixed groups read fields not known in
        advance): what is remembered per profile × warehouse must then be bounded."""
        return self._mixed_memberships is not None and self._mixed_sku_fields is None

    def groups_for(self, sku_code: str, warehouse_code: str) -> tuple[str, ...]:
        profile = self._profile.get(sku_code)
        if profile is None:  # not in the catalogue: no SKU groups, nothing remembered
            return self._compute(sku_code, warehouse_code, (),
                                 self._sku_key(sku_code) if self._mixed_memberships else None)
        if self._simple:
            return self._profiles[profile][0]
        cells = self._cells.get(warehouse_code)
        if cells is None:
            cells = self._cells[warehouse_code] = {}
        found = cells.get(profile)
        if found is None:
            if self._mixed_sku_fields is None and self._n_cells >= self.MAX_PAIRS:
                for each in self._cells.values():
                    each.clear()
                self._n_cells = 0
            base, sku_key = self._profiles[profile]
            found = cells[profile] = self._compute(sku_code, warehouse_code, base, sku_key)
            self._n_cells += 1
        return found

    def _compute(self, sku_code: str, warehouse_code: str, base: tuple[str, ...],
                 sku_key: Any) -> tuple[str, ...]:
        own = self._by_wh.get(warehouse_code)
        if own is None:
            own = self._warehouse_groups(warehouse_code)
        mixed = self._mixed_groups(sku_code, sku_key, warehouse_code) if self._mixed_memberships else ()
        key = (id(base), id(own), id(mixed))
        found = self._joined.get(key)
        if found is None:
            position = self._position
            found = self._joined[key] = tuple(sorted((*base, *own, *mixed), key=position.__getitem__))
        return found

    def _warehouse_groups(self, warehouse_code: str) -> tuple[str, ...]:
        memberships = self._wh_memberships
        data = {"warehouse": self.warehouses.get(warehouse_code, {})}
        found = self._by_wh[warehouse_code] = memberships.of(data) if memberships else ()
        return found

    def _mixed_groups(self, sku_code: str, sku_key: Any, warehouse_code: str) -> tuple[str, ...]:
        """The groups over SKU and warehouse fields, per distinct SKU values and warehouse."""
        key = (sku_key, warehouse_code)
        found = self._mixed.get(key)
        if found is None:
            assert self._mixed_memberships is not None
            if self._mixed_sku_fields is None and len(self._mixed) >= self.MAX_PAIRS:
                self._mixed.clear()
            data = {"sku": self._skus.get(sku_code, {}),
                    "warehouse": self.warehouses.get(warehouse_code, {})}
            found = self._mixed[key] = self._mixed_memberships.of(data)
        return found

    def _sku_key(self, sku_code: str) -> Any:
        """What decides the mixed groups on the SKU side: its values of the fields they read
        (frozen as ``_Batch`` keys are), or its code when those fields are unknown."""
        names = self._mixed_sku_fields
        sku = self._skus.get(sku_code)
        if names is None or sku is None:
            return sku_code
        try:
            key = tuple(_freeze(sku.get(name, _ABSENT)) for name in names)
        except TypeError:
            return sku_code
        return self._key_pool.setdefault(key, len(self._key_pool))

    def members(self, group_id: str) -> list[tuple[str, str]]:
        """Every SKU×warehouse pair in a group (for previews and validation reports)."""
        return [
            (sku, wh)
            for sku in self._skus
            for wh in self.warehouses
            if group_id in self.groups_for(sku, wh)
        ]

    def skus_in(self, group_ids: tuple[str, ...]) -> list[str]:
        """SKU codes in any of ``group_ids`` for at least one warehouse; all SKUs when empty."""
        if not group_ids:
            return sorted(self._skus)
        wanted = set(group_ids)
        whs = list(self.warehouses) or [""]
        return sorted(
            sku for sku in self._skus if any(wanted & set(self.groups_for(sku, wh)) for wh in whs)
        )
