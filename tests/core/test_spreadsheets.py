"""One CSV writer for the files people open in spreadsheets (the sponsor's worker export, the
partner's statement): formula-like cells stay text, the file starts with a byte-order mark and
comes in chunks."""

import csv
import io

from core.spreadsheets import BOM, safe_cell, stream_csv


def test_a_cell_that_would_run_as_a_formula_stays_text():
    assert [safe_cell(v) for v in ("=HYPERLINK(1)", "+62", "-1", "@x", "\tx", "Sri")] == [
        "'=HYPERLINK(1)",
        "'+62",
        "'-1",
        "'@x",
        "'\tx",
        "Sri",
    ]


def test_the_file_streams_in_chunks_after_a_byte_order_mark():
    rows = ([n, f"row {n}"] for n in range(1, 6))
    chunks = list(stream_csv(["n", "name"], rows, chunk_rows=2))
    assert chunks[0] == BOM + "n,name\r\n"
    assert chunks[1:] == ["1,row 1\r\n2,row 2\r\n", "3,row 3\r\n4,row 4\r\n", "5,row 5\r\n"]
    parsed = list(csv.reader(io.StringIO("".join(chunks).removeprefix(BOM))))
    assert parsed[-1] == ["5", "row 5"]
