"""The ``csv`` importer: CSV (or tab-separated) exports, in UTF-8 with or without a BOM, GBK or
GB18030 (Chinese Excel's "CSV"), or UTF-16 ("Unicode text"); read as a stream, so a file of
hundreds of megabytes takes little memory."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from plugins.importers.tabular import CountedRows, RowSource, TabularImporter, Taken

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
        rows = CsvRows(text, delimiter)
        # a decoding error is turned into ImportFailed by ``failed``
        return RowSource(rows, size=path.stat().st_size, position=raw.tell,
                         notes=notes, close=text.close,
                         failed=lambda exc: _failed(exc, rows.line_num, path.name, encoding))


class CsvRows(CountedRows):
    """A CSV file's rows, numbered. One at a time (the header's search) from ``csv.reader``;
    a page slice at once (``take``) as columns when its lines are plain, with no quote, no
    blank line and the same number of fields each: then splitting the text at the
    delimiters and line ends is what ``csv.reader`` would do, in a few passes of C over the
    text read as a block (no str per line, no list per row). A slice with anything else is
    read by ``csv.reader`` (a quoted field may span lines, past the slice)."""

    min_read = 256  # characters read at least at once

    def __init__(self, text: io.TextIOWrapper, delimiter: str) -> None:
        self._text = text
        self._held = ""  # text read ahead by ``take``, from a line's start: read first
        self._held_io: io.StringIO | None = None  # the held text while csv.reader reads it
        self._reader = csv.reader(_Feed(self), delimiter=delimiter)
        super().__init__(self._reader)
        self.delimiter = delimiter
        self._lines = 0  # lines of the slices split by ``take``
        self._width = 64.0  # characters a line, as seen so far: how much to read

    @property
    def line_num(self) -> int:
        return self._lines + self._reader.line_num

    def next_line(self) -> str:
        """The next line for csv.reader: the held text's first, then the file's."""
        if self._held_io is None and self._held:
            self._held_io, self._held = io.StringIO(self._held, newline=""), ""
        if self._held_io is not None:
            line = self._held_io.readline()
            if line:
                return line
            self._held_io = None
        return self._text.readline()

    def _block(self, n: int) -> tuple[str, int]:
        """Text of the next ``n`` lines (fewer at the end) and how many lines it holds."""
        text = (self._held_io.read() if self._held_io is not None else "") + self._held
        self._held_io, self._held = None, ""
        count = text.count("\n")
        while count < n:
            block = self._text.read(int((n - count) * self._width * 1.1) + self.min_read)
            if not block:
                break
            text += block
            count += block.count("\n")
        if count >= n:  # the n-th line end: counted back from the last one
            cut = len(text)
            for _ in range(count - n + 1):
                cut = text.rfind("\n", 0, cut)
            text, self._held = text[:cut + 1], text[cut + 1:]
            if self._held and not self._held.endswith("\n"):
                # the held text ends with whole lines, so csv.reader reads its lines as the
                # file's (a line cut at the block's end, or a "\r" before its "\n")
                self._held += self._text.readline()
            count = n
        elif text and not text.endswith("\n"):
            count += 1  # the file's last line, without a line end
        if count:
            self._width = max(8.0, len(text) / count)
        return text, count

    def take(self, n: int) -> Taken:
        first = self.count + 1
        text, lines = self._block(n)
        if not lines:
            return (), [], None
        columns = _split(text, lines, self.delimiter)
        if columns is not None:
            self._lines += lines
            self.count += lines
            return range(first, first + lines), None, columns
        # the csv module's own reading; a record begun in the slice may end after it
        self._held = text + self._held
        start = self._reader.line_num
        rows = []
        try:
            while self._reader.line_num - start < lines:
                rows.append(next(self._reader))
        except StopIteration:
            pass
        self.count += len(rows)
        return range(first, first + len(rows)), rows, None


class _Feed:
    """The lines csv.reader reads (``CsvRows.next_line``)."""

    def __init__(self, rows: CsvRows) -> None:
        self._rows = rows

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self._rows.next_line()
        if not line:
            raise StopIteration
        return line


def _split(text: str, count: int, delimiter: str) -> list[list[str]] | None:
    """The fields of ``count`` lines of text as columns, when they are plain (see
    ``CsvRows``); else None.

    Each line end is marked (``\\n\\x01``) before the delimiters become line ends too, and
    the text is split once: the lines all have ``width`` fields exactly when every mark is at
    the start of a field of the first column (``width`` apart)."""
    if '"' in text or "\x00" in text or "\x01" in text or delimiter in "\r\n":
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    if text.endswith("\n"):
        text = text[:-1]
    if "\n\n" in f"\n{text}\n" or text.count("\n") != count - 1:
        return None  # a blank line
    delimiters = text.count(delimiter)
    width = delimiters // count + 1
    if delimiters != (width - 1) * count:
        return None
    fields = text.replace("\n", "\n\x01").replace(delimiter, "\n").split("\n")
    first = "".join(fields[0::width])
    if len(fields) != width * count or first.count("\x01") != count - 1:
        return None
    return [first.split("\x01"), *(fields[i::width] for i in range(1, width))]


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
