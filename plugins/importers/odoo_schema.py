"""Odoo's field names by version, found with ``fields_get`` when connecting (ERP.md §2a).

Fields were renamed across versions: the done quantity of a move is ``quantity_done`` up to 16
and ``quantity`` from 17; its unit ``product_uom`` up to 18 and ``uom_id`` in 19; a purchase
line's unit ``product_uom`` then ``product_uom_id``; the vendor of a ``product.supplierinfo``
``name`` before 16 and ``partner_id`` since; storable products ``type == 'product'`` up to 17 and
``is_storable`` from 18; units' ``factor`` counts units per reference unit up to 18 and
reference units per unit in 19 (which adds ``relative_factor``).
"""

from __future__ import annotations

from typing import Any

from engine.imports.plugin import ImportFailed
from plugins.importers.odoo_transport import SOURCE, OdooTransport

# role -> candidate field names, newest first; a candidate must have the given type if set
ALIASES: dict[tuple[str, str], tuple[tuple[str, str | None], ...]] = {
    ("stock.move", "qty"): (("quantity", None), ("quantity_done", None)),
    ("stock.move", "uom"): (("uom_id", "many2one"), ("product_uom", "many2one")),
    ("purchase.order.line", "uom"): (("product_uom_id", "many2one"),
                                     ("product_uom", "many2one")),
    ("product.supplierinfo", "partner"): (("partner_id", "many2one"), ("name", "many2one")),
    ("product.product", "storable"): (("is_storable", "boolean"), ("type", "selection")),
    ("res.partner", "supplier"): (("supplier_rank", "integer"), ("supplier", "boolean")),
}


class OdooSchema:
    """The fields each model has on this server, asked once per model."""

    def __init__(self, transport: OdooTransport) -> None:
        self.transport = transport
        self._fields: dict[str, dict[str, Any]] = {}

    def fields(self, model: str) -> dict[str, Any]:
        if model not in self._fields:
            found = self.transport.call(model, "fields_get", {"attributes": ["type", "relation"]},
                                        f"fields_get {model}")
            if not isinstance(found, dict):
                raise ImportFailed(SOURCE, f"fields_get {model}", "the answer is no field list")
            self._fields[model] = found
        return self._fields[model]

    def has_model(self, model: str) -> bool:
        """Whether the app holding ``model`` is installed (purchase may not be)."""
        try:
            self.fields(model)
        except ImportFailed as exc:
            if "doesn't exist" in exc.reason or "does not exist" in exc.reason or (
                "404" in exc.reason
            ):
                return False
            raise
        return True

    def pick(self, model: str, role: str) -> str:
        """The field playing ``role`` on this server, or a clear error naming the candidates."""
        have = self.fields(model)
        candidates = ALIASES[(model, role)]
        for name, ftype in candidates:
            if name in have and (ftype is None or have[name].get("type") == ftype):
                return name
        names = ", ".join(n for n, _ in candidates)
        raise ImportFailed(SOURCE, f"fields_get {model}", f"{model} has none of the fields "
                           f"{names} (Odoo {self.transport.version or '?'}): was it renamed? "
                           "Tell us the field's new name.")

    def require(self, model: str, names: list[str]) -> list[str]:
        """``names`` when every one exists on ``model``; else an error naming the missing."""
        have = self.fields(model)
        missing = [n for n in names if n not in have]
        if missing:
            raise ImportFailed(SOURCE, f"fields_get {model}", f"{model} has no field "
                               f"{', '.join(missing)} (Odoo {self.transport.version or '?'}): "
                               "renamed or removed in this version?")
        return names

    def storable_domain(self) -> list[Any]:
        field = self.pick("product.product", "storable")
        return [[field, "=", True]] if field == "is_storable" else [[field, "=", "product"]]

    def supplier_domain(self) -> list[Any]:
        field = self.pick("res.partner", "supplier")
        return [[field, ">", 0]] if field == "supplier_rank" else [[field, "=", True]]

    def factor_is_absolute(self) -> bool:
        """19 and later: ``uom.uom.factor`` is reference units per unit."""
        return "relative_factor" in self.fields("uom.uom")
