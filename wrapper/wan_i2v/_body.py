"""The create request's body with local images streamed into it (spec/DECISIONS.md, D19).

A local image is checked from its bytes (read once, _images.checked_image); building its data
URI and then ``json.dumps`` of the body would hold the image three or four times over. Instead
the generated model holds a ``StreamedImage`` in its ``image`` (a ``str``: a short placeholder,
unique to it), the body is serialised by httpx exactly as ``json=`` would serialise it, and at
send time each placeholder is replaced by ``"data:<mime>;base64,`` and the Base64 of the bytes,
produced ``CHUNK`` bytes at a time. The bytes sent are those of ``json=`` with the data URI,
byte for byte, with an exact Content-Length; a retry streams the same bytes again.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Self

import httpx

from ._images import CheckedImage

# Image bytes per chunk: a multiple of 3, so that each chunk's Base64 stands alone (no
# padding inside), and 256 KiB of Base64 per write: big enough for full-speed writes, small
# beside a 10 MB image.
CHUNK = 3 << 16
# The request extension that carries the body as the DEBUG log shows it (_logging).
SHOWN_BODY = "wan_i2v.shown_body"


class StreamedImage(str):
    """A checked local image as the generated model holds it: a ``str`` whose text is a
    placeholder (``data:<mime>;base64,<N base64 chars, streamed when sent: <id>>``), with
    the bytes beside it. The random id makes the placeholder impossible to meet elsewhere in
    a body."""

    data: bytes
    mime: str

    def __new__(cls, image: CheckedImage) -> Self:
        # A caller's bytearray could change before the send (or between retries): what is
        # sent is a snapshot of what was checked. Bytes read from a file are never copied.
        data = image.data if isinstance(image.data, bytes) else bytes(image.data)
        size = 4 * -(-len(data) // 3)
        text = f"data:{image.mime};base64,<{size} base64 chars, streamed when sent: "
        self = super().__new__(cls, text + secrets.token_hex(8) + ">")
        self.data, self.mime = data, image.mime
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (StreamedImage, (CheckedImage(self.data, self.mime),))

    @property
    def base64_size(self) -> int:
        return 4 * -(-len(self.data) // 3)

    @property
    def head(self) -> bytes:
        """What the JSON string starts with, before the Base64."""
        return b'"data:' + self.mime.encode("ascii") + b";base64,"

    def base64_chunks(self) -> Iterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(view), CHUNK):
            yield base64.b64encode(view[start : start + CHUNK])


class StreamedBody:
    """A JSON body in parts: bytes of JSON text, and the images streamed between them."""

    __slots__ = ("length", "parts", "shown")

    def __init__(self, parts: list[bytes | StreamedImage]) -> None:
        self.parts = parts
        self.length = sum(len(p) if isinstance(p, bytes) else p.base64_size for p in parts)
        # For the DEBUG log: the Base64 elided as _logging.describe_body elides a data URI's.
        self.shown = b"".join(
            p if isinstance(p, bytes) else b"<%d base64 chars>" % p.base64_size for p in parts
        )

    def chunks(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from part.base64_chunks()

    async def achunks(self) -> AsyncIterator[bytes]:
        # Base64 of one chunk takes about a millisecond: done on the event loop, between
        # writes that each give it back.
        for chunk in self.chunks():
            yield chunk


class Upload:
    """A ``StreamedBody`` as ``httpx.Client`` sends it: re-iterable, so a retry streams it
    again from the same bytes."""

    __slots__ = ("body",)

    def __init__(self, body: StreamedBody) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return self.body.chunks()


class AsyncUpload:
    """A ``StreamedBody`` as ``httpx.AsyncClient`` sends it (an async iterable only: httpx
    would take an object that is also iterable for a sync body)."""

    __slots__ = ("body",)

    def __init__(self, body: StreamedBody) -> None:
        self.body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.body.achunks()


def streamed_json(data: Mapping[str, Any]) -> StreamedBody | None:
    """The body ``json=data`` would send, with its ``StreamedImage`` values streamed; None
    when it has none (``json=`` is then used as it is)."""
    images = [value for value in data.values() if isinstance(value, StreamedImage)]
    if not images:
        return None
    # httpx's own serialisation (whatever its version does), of a body that is now small.
    text = httpx.Request("POST", "http://body.invalid/", json=data).content
    found = []
    for image in images:
        marker = b'"' + image.encode("ascii") + b'"'
        at = text.find(marker)
        if at < 0 or text.find(marker, at + 1) >= 0:
            raise AssertionError("an image placeholder is missing from the body or repeated")
        found.append((at, len(marker), image))
    parts: list[bytes | StreamedImage] = []
    end = 0
    for at, size, image in sorted(found, key=lambda item: item[0]):
        # The JSON text up to the image and its string's opening, then the Base64; the
        # closing quote starts the next run of text.
        parts += [text[end:at] + image.head, image]
        end = at + size - 1
    parts.append(text[end:])
    return StreamedBody(parts)
