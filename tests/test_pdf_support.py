"""The tests' PDF reader finds every stream, also one whose compressed bytes end in a CR."""

import itertools
import zlib

from tests.pdf_support import pdf_text


def test_a_stream_ending_in_a_carriage_return_is_read():
    text, packed = next(
        (text, packed)
        for n in itertools.count()
        if (packed := zlib.compress((text := f"BT (Kuitansi {n}) Tj ET").encode())).endswith(b"\r")
    )
    pdf = b"%PDF-1.3\n1 0 obj\n<<>>\nstream\n" + packed + b"\nendstream\nendobj\n"
    assert pdf_text(pdf) == text
