"""Reading an uploaded CSV file: its size, encoding, quoting and header line.

Partners upload code pools and insurers upload confirmation files; both are refused whole, with
every problem listed and nothing changed. This module reads the file up to its rows; each caller
checks the cells that mean something to it.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # the line in the file as the uploader sees it; None for the whole file
    message: LazyString


class UploadRefused(Exception):
    """Nothing was saved. ``problems`` holds every problem found (rows first, in order)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems

    @property
    def shown(self) -> list[RowProblem]:
        return self.problems[:SHOWN_PROBLEMS]


def refuse(message: LazyString, row: int | None = None) -> UploadRefused:
    return UploadRefused([RowProblem(row, message)])


@dataclass(frozen=True)
class CsvTable:
    header_line: int
    column_at: dict[str, int]  # column name → its position in every row
    rows: list[tuple[int, list[str]]]  # (line, cells), blank lines left out


def read_csv_upload(data: bytes, *, columns: Sequence[str], max_bytes: int) -> CsvTable:
    """The file's rows under a header that names exactly ``columns`` (in any order, any case)."""
    if len(data) > max_bytes:
        raise refuse(
            _l("The file is larger than %(size)s MB.", size=f"{max_bytes / 1024 / 1024:g}")
        )
    if b"\x00" in data:
        raise refuse(_l("This is not a CSV text file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(_l("Save the file as CSV in UTF-8.")) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error:
        raise refuse(_l("The CSV file is malformed (check the quotes).")) from None
    if not rows:
        raise refuse(_l("The file is empty."))
    header_line, header = rows[0]
    names = [cell.strip().lower() for cell in header]
    if sorted(names) != sorted(columns):
        raise refuse(
            _l("The first line must name the columns: %(columns)s.", columns=",".join(columns)),
            header_line,
        )
    return CsvTable(header_line, {name: names.index(name) for name in columns}, rows[1:])
