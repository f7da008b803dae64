"""CSV files that people open in spreadsheet programs: cells that cannot run as formulas, and
a file streamed in chunks that Excel reads as UTF-8 (a byte-order mark first)."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """A text cell that stays text: ``=HYPERLINK(…)`` in a name gets an apostrophe first."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def stream_csv(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, chunk_rows: int = 500
) -> Iterator[str]:
    """The header (after the byte-order mark), then the rows, ``chunk_rows`` at a time, as
    CSV text with CRLF line ends. Text cells are written as given: pass them through
    ``safe_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(header)
    yield BOM + flush()
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % chunk_rows == 0:
            yield flush()
    yield flush()
