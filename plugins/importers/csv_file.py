"""The ``csv`` importer: CSV (or tab-separated) exports, in UTF-8 with or without a BOM, GBK or
GB18030 (Chinese Excel's "CSV"), or UTF-16 ("Unicode text"); read as a stream, so a file of
hundreds of megabytes takes little memory."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from plugins.importers.tabular import CountedRows, RowSource, TabularImporter

SAMPLE = 1 << 20  # bytes read to tell the encoding and the delimiter
csv.field_size_limit(16 * 1024 * 1024)


def detect_encoding(sample: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such; UTF-16 by its BOM; else
    what charset-normalizer finds, GBK and GB2312 widened to GB18030 (their superset)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    _refuse_binary(sample, name)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # the sample cut a character in two
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:65536], cp_isolation=None).best()
    found = (best.encoding if best else "gb18030").lower().replace("-", "_")
    if found in ("gbk", "gb2312", "gb18030", "hz", "cp936", "big5") and found != "big5":
        return "gb18030"
    return found


def _refuse_binary(sample: bytes, name: str) -> None:
    if sample.startswith(b"PK\x03\x04"):
        raise ImportFailed("csv", name, "this is an .xlsx (zip) file, not CSV: use `import excel`")
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed("csv", name, "this is an old Excel .xls file: save it as .xlsx or CSV")
    if b"\x00" in sample[:8192]:
        raise ImportFailed("csv", name, "this is not a text (CSV) file: it holds binary data")


class CsvImporter(TabularImporter):
    name = "csv"
    label = {"zh": "CSV 文件", "en": "CSV file"}
    options = (
        Option("encoding", "text encoding (default: detected: UTF-8, GBK/GB18030, UTF-16)",
               "文本编码（默认自动识别：UTF-8、GBK/GB18030、UTF-16）"),
        Option("delimiter", "column separator (default: detected among , tab ; |)",
               "分隔符（默认自动识别：逗号、制表符、分号、竖线）"),
    )

    def open(self, request: ImportRequest) -> RowSource:
        path = Path(request.file or "")
        raw = path.open("rb")
        sample = raw.read(SAMPLE)
        raw.seek(0)
        encoding = request.options.get("encoding") or detect_encoding(sample, path.name)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raw.close()
            raise ImportFailed(self.name, "--encoding", f"unknown encoding '{encoding}'") from None
        if encoding.lower().replace("-", "").replace("_", "") in ("gbk", "gb2312"):
            encoding = "gb18030"
        head = sample.decode(encoding, errors="replace")[:65536]
        delimiter = request.options.get("delimiter") or _delimiter(head)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        notes = [f"encoding {encoding}, delimiter {delimiter!r}"]
        reader = csv.reader(text, delimiter=delimiter)
        # The rows straight from the C reader (no generator of ours per row: a third of the
        # cost of a sales row); a decoding error is turned into ImportFailed by ``failed``.
        return RowSource(CountedRows(reader), size=path.stat().st_size, position=raw.tell,
                         notes=notes, close=text.close,
                         failed=lambda exc: _failed(exc, reader.line_num, path.name, encoding))


def _delimiter(head: str) -> str:
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines[-20:]) or ",", delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines) for d in ",\t;|"}
        return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def _failed(exc: Exception, line: int, name: str, encoding: str) -> ImportFailed | None:
    if isinstance(exc, UnicodeDecodeError):
        return ImportFailed("csv", name, f"near line {line + 1}: the file is not valid "
                            f"{encoding} ({exc.reason}); give the right --encoding")
    if isinstance(exc, csv.Error):
        return ImportFailed("csv", name, f"line {line}: {exc}")
    return None


importer = CsvImporter()
