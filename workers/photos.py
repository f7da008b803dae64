"""Worker photos: recognised by their bytes, not their name, and re-encoded small.

Only JPEG, PNG and WebP are accepted, judged by the file's magic bytes; the picture is then
decoded by Pillow, turned upright, stripped of EXIF (which can hold the GPS position of the
worker's home) and saved as a JPEG of at most 480 × 480 pixels.
"""

import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import DomainError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SOURCE_PIXELS = 40_000_000  # a 40 MP phone photo; more is refused before decoding
MAX_SIDE = 480
JPEG_QUALITY = 82
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)


class InvalidPhoto(DomainError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PreparedPhoto:
    content: bytes = b""
    mime_type: str = "image/jpeg"
    width: int = 0
    height: int = 0

    def __repr__(self) -> str:
        return f"<PreparedPhoto {self.width}x{self.height} {len(self.content)} bytes>"


def sniff_format(data: bytes) -> str | None:
    """JPEG, PNG or WEBP from the first bytes; None for anything else."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def prepare_photo(data: bytes) -> PreparedPhoto:
    """Check and shrink an uploaded photo; raise InvalidPhoto with a message for the user."""
    if not data:
        raise InvalidPhoto(_l("The photo file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidPhoto(_l("The photo is larger than 5 MB. Please choose a smaller one."))
    kind = sniff_format(data)
    if kind is None:
        raise InvalidPhoto(_l("Choose a JPEG, PNG or WebP photo."))
    image = _decode(data, kind)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return PreparedPhoto(
        content=out.getvalue(), mime_type="image/jpeg", width=image.width, height=image.height
    )


def _decode(data: bytes, kind: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
            too_large = image.width * image.height > MAX_SOURCE_PIXELS
            if not too_large:
                image.load()
                image = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise InvalidPhoto(_l("This photo cannot be read. Please choose another one.")) from None
    if too_large:
        raise InvalidPhoto(_l("The photo has too many pixels. Please choose a smaller one."))
    return image
