"""CSV files read as they come, or refused in one line that says why.

Before pandas parses a file, one pass over it with Python's ``csv`` module finds the delimiter
(``,``, ``;``, tab or ``|``, whichever splits the header and the first rows alike), whether
numbers use a decimal comma (``1,5`` in a ``;`` file), and checks the shape: every row must have
as many fields as the header; a trailing delimiter on every row is named as such, a row with
more or fewer fields by its line number; NUL bytes and non-UTF-8 text are refused. Then pandas
reads the file with exactly those settings and no index column, so no field is ever shifted.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..errors import DataFileError

_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 16
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataFileError(f"{path} has a NUL byte on line {line}; it is not a text CSV file "
                            "(or it is damaged).")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFileError(f"{path} is not UTF-8 text (line {line}); save it as UTF-8 CSV.") \
            from None


def sniff(text: str, path: Path) -> tuple[str, str]:
    """``(delimiter, decimal)``: the delimiter that splits the header and the first rows into
    the same number of fields (the most of them), and ``","`` as decimal for ``;`` files whose
    numbers are written ``1,5``."""
    sample = text[:_SAMPLE_BYTES]
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        raise DataFileError(f"{path} is empty; give a CSV with a header and rows.")
    best, best_fields = ",", 1
    for delimiter in _DELIMITERS:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
        counts = {len(r) for r in rows[: len(rows) - 1 or 1]}  # the last line may be cut
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    decimal = "."
    if best == ";":
        cells = [c.strip() for r in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=";")
                 for c in r]
        if cells and sum(bool(_DECIMAL_COMMA.match(c)) for c in cells) >= max(1, len(cells) // 10):
            decimal = ","
    return best, decimal


def check_shape(text: str, delimiter: str, path: Path) -> None:
    """Every row has as many fields as the header, or a one-line error naming the row."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFileError(f"{path} is empty; give a CSV with a header and rows.") from None
    width = len(header)
    trailing = header[-1] == "" and width > 1
    rows = 0
    first_bad = None
    all_one_extra_empty = True
    try:
        for row in reader:
            rows, first_bad, all_one_extra_empty = _row(row, reader, width, rows, first_bad,
                                                        all_one_extra_empty)
    except csv.Error as exc:
        limit = csv.field_size_limit()
        detail = (f"a field longer than {limit:,} characters" if "field larger" in str(exc)
                  else str(exc))
        raise DataFileError(f"{path}: line {reader.line_num} has {detail}; a CSV cell holds a "
                            "number or a short text.") from None
    _verdict(path, delimiter, width, trailing, rows, first_bad, all_one_extra_empty)


def _row(row, reader, width, rows, first_bad, all_one_extra_empty):
    if row:
        rows += 1
        if len(row) != width and first_bad is None:
            first_bad = (reader.line_num, len(row))
        if not (len(row) == width + 1 and row[-1] == ""):
            all_one_extra_empty = False
    return rows, first_bad, all_one_extra_empty


def _verdict(path, delimiter, width, trailing, rows, first_bad, all_one_extra_empty) -> None:
    if rows == 0:
        raise DataFileError(f"{path} has a header but no rows.")
    if trailing or (first_bad is not None and all_one_extra_empty):
        raise DataFileError(
            f"{path}: every row ends with an extra empty field (a delimiter {delimiter!r} at the "
            "end of each line); remove the trailing delimiters."
        )
    if first_bad is not None:
        line, fields = first_bad
        more = "more" if fields > width else "fewer"
        raise DataFileError(
            f"{path}: line {line} has {fields} fields, {more} than the header's {width}; every "
            f"row needs one value per header column (delimiter {delimiter!r})."
        )


def read_csv(path: Path):
    """The CSV file as a DataFrame (see the module docstring)."""
    import pandas as pd

    text = _text(path)
    delimiter, decimal = sniff(text, path)
    check_shape(text, delimiter, path)
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, decimal=decimal, index_col=False,
                           low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1][:160]
        raise DataFileError(f"{path} cannot be read as CSV ({detail}).") from None
