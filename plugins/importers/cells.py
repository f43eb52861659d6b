"""Cell values as spreadsheets hold them → text codes, numbers and dates.

Chinese exports bring thousands separators (``1,234``), full-width digits, codes that Excel
turned into numbers (``1001.0``, or kept with ``="00123"``), dates as serial numbers (45413)
or as ``2024/5/1`` and ``2024年5月1日``. Each parser returns the value or raises ``CellInvalid``
with a sentence saying why. The common case (a plain number, a date seen before) is a fast path:
the importers call these for every cell of files of millions of rows.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (with Lotus' leap-year bug)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ZONED = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_NUMBER_JUNK = str.maketrans("", "", ",，  _'")
_date_cache: dict[object, datetime] = {}


class CellInvalid(ValueError):
    """A cell that cannot be the value its column needs."""


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def code(value: object, zeros: int = 0) -> str | None:
    """A code kept as text: ``1001.0`` (Excel made it a number) → ``1001``; ``="00123"`` and
    ``'00123`` (Excel's ways to keep leading zeros) → ``00123``; ``zeros``: the width of an
    Excel ``000000`` number format, whose leading zeros the stored number lost."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            return repr(value)
        out = str(int(value))
        return out.zfill(zeros) if zeros else out
    out = str(value).strip()
    if out.startswith('="') and out.endswith('"'):
        out = out[2:-1]
    elif out.startswith("'"):
        out = out[1:]
    if not out.isascii():
        out = unicodedata.normalize("NFKC", out).strip()
    return out or None


def number(value: object) -> float | None:
    """A finite number; ``1,234``, ``１２３``, ``(12)`` (accounting negative), ``12%``; blank or
    ``-`` is None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    else:
        try:
            result = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            result = _slow_number(value)
            if result is None:
                return None
    if not math.isfinite(result):
        raise CellInvalid(f"'{value}' is not a finite number")
    return result


def _slow_number(value: object) -> float | None:
    raw = str(value).strip()
    if raw in ("", "-", "--", "—", "/"):
        return None
    s = unicodedata.normalize("NFKC", raw).translate(_NUMBER_JUNK).strip()
    negative = s.startswith("(") and s.endswith(")")
    if negative:
        s = s[1:-1]
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    try:
        result = float(s)
    except ValueError:
        raise CellInvalid(f"'{raw}' is not a number") from None
    if percent:
        result /= 100
    return -result if negative else result


def when(value: object) -> datetime:
    """A date or time: a ``datetime``/``date`` (from .xlsx), an Excel serial number, ISO 8601
    (with or without a zone), ``2024/5/1``, ``2024.5.1``, ``2024年5月1日`` or ``20240501``.
    A date alone is midnight, without a zone (the import service puts it in the ruleset's)."""
    found = _date_cache.get(value)
    if found is not None:
        return found
    result = _when(value)
    if len(_date_cache) > 100_000:
        _date_cache.clear()
    if isinstance(value, (str, int, float)):
        _date_cache[value] = result
    return result


def _when(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value), value)
    raw = str(value).strip()
    if not raw:
        raise CellInvalid("a date is required")
    s = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    match = _DATE.match(s)
    if match:
        y, m, d, hh, mm, ss = match.groups()
        try:
            return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            raise CellInvalid(f"'{raw}' is not a real date") from None
    compact = _COMPACT.match(s)
    if compact:
        try:
            return datetime(*(int(g) for g in compact.groups()))
        except ValueError:
            raise CellInvalid(f"'{raw}' is not a real date") from None
    if _ZONED.search(s) or "T" in s:
        try:
            return datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            pass
    try:
        return _serial(float(s), raw)
    except ValueError:
        raise CellInvalid(f"'{raw}' is not a date (use 2024-05-01, 2024/5/1 or 2024年5月1日)"
                          ) from None


def _serial(serial: float, raw: object) -> datetime:
    if not 1 <= serial < 2958466:  # Excel's range: 1900-01-01 … 9999-12-31
        raise CellInvalid(f"'{raw}' is not a date (as an Excel serial number it is out of range)")
    return EXCEL_EPOCH + timedelta(days=serial)


def flag(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("", "-"):
        return None
    if s in ("1", "true", "yes", "y", "是", "有", "√", "x", "on"):
        return True
    if s in ("0", "false", "no", "n", "否", "无", "off"):
        return False
    raise CellInvalid(f"'{value}' is not yes/no (是/否)")
