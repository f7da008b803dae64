"""Reading the text out of the PDFs Payung draws (receipts, statements) in tests."""

import re
import zlib

# fpdf2 writes "stream\n<bytes>\nendstream". The compressed bytes can end in b"\r"; a pattern
# allowing "\r\n" before "endstream" would take that byte away and the stream would not inflate
# (about one stream in 256, so the tests failed now and then).
STREAM = re.compile(rb"stream\n(.*?)\nendstream", re.S)


def pdf_text(data: bytes) -> str:
    """The text of every content stream, inflated; streams that are not zlib data are skipped."""
    chunks = []
    for stream in STREAM.findall(data):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(chunks)
