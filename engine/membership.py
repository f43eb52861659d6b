"""Which SKU groups a SKU×warehouse belongs to, computed once per ruleset and catalogue change.

A group's ``where`` is JsonLogic over ``sku.*`` and ``warehouse.*``. Most groups only read
``sku.*``: those are evaluated once per SKU, not once per SKU×warehouse, which keeps a refresh
of 100k SKUs × 10 warehouses × 50 groups within seconds. Groups that read ``warehouse.*`` are
evaluated per pair on first use and remembered.
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


class GroupIndex:
    """Group membership for every SKU (and SKU×warehouse where a group needs the warehouse)."""

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
        self._sku_only = [g for g in groups if referenced_roots(g.where) <= {"sku"}]
        self._per_pair = [g for g in groups if g not in self._sku_only]
        self._by_sku: dict[str, tuple[str, ...]] = {}
        self._by_pair: dict[tuple[str, str], tuple[str, ...]] = {}
        for sku in skus:
            self.add_sku(sku)

    def add_sku(self, sku: Mapping[str, Any]) -> None:
        """(Re)compute one SKU's memberships, e.g. after its master data changed."""
        code = sku["code"]
        self._skus[code] = sku
        data = {"sku": sku}
        self._by_sku[code] = tuple(g.id for g in self._sku_only if _safe_match(g, data))
        for key in [k for k in self._by_pair if k[0] == code] if self._by_pair else []:
            del self._by_pair[key]

    def groups_for(self, sku_code: str, warehouse_code: str) -> tuple[str, ...]:
        base = self._by_sku.get(sku_code, ())
        if not self._per_pair:
            return base
        key = (sku_code, warehouse_code)
        found = self._by_pair.get(key)
        if found is None:
            data = {"sku": self._skus.get(sku_code, {}), "warehouse": self.warehouses.get(warehouse_code, {})}
            found = tuple(g.id for g in self._per_pair if _safe_match(g, data))
            self._by_pair[key] = found
        return base + found if found else base

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
