"""A local image is streamed into the create body (spec/DECISIONS.md, D19): the file held once,
its Base64 made in chunks, the bytes on the wire those of ``json=`` with the data URI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, SyncOrAsync, task_json
from imagefiles import make_image, pad_to
from servers import Reply, scripted_server

import wan_i2v
from wan_i2v._request import build_create_request
from wan_i2v._translate import create_request

TASK = json.dumps(task_json()).encode()
TARGET = 1.3  # peak traced memory of one create / bytes of the image files


def _image(directory: Path, name: str, size: int) -> Path:
    """A real PNG of exactly ``size`` bytes (padded with an ignorable chunk)."""
    path = directory / name
    path.write_bytes(pad_to(make_image("png", 640, 480), size))
    return path


@contextlib.contextmanager
def _draining_server() -> Iterator[tuple[str, list[int]]]:
    """A local server (in this process, so traced too) that reads each body 64 KiB at a time
    and answers 202 with a task: what it holds never counts against the client. Yields its
    URL and the body sizes it received."""
    sizes: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            left = int(self.headers["content-length"])
            while left:
                left -= len(self.rfile.read(min(left, 1 << 16)))
            sizes.append(int(self.headers["content-length"]))
            self.send_response(202)
            self.send_header("content-length", str(len(TASK)))
            self.end_headers()
            self.wfile.write(TASK)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sizes
    finally:
        server.shutdown()
        server.server_close()


def _peak(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("with_last_frame", [False, True], ids=["image", "image+last_frame"])
def test_a_10_mb_create_holds_the_file_about_once(
    make_client: Callable[..., SyncOrAsync], tmp_path: Path, with_last_frame: bool
) -> None:
    """The traced peak of a create with a ~10 MB local image (and a second one as last_frame)
    against a real local server stays under 1.3x the files' size, sync and async."""
    size = 9_900_000
    image = _image(tmp_path, "a.png", size)
    fields: dict[str, Any] = {"image": image, "prompt": "p"}
    if with_last_frame:
        fields["last_frame"] = _image(tmp_path, "b.png", size)
    total = size * (2 if with_last_frame else 1)
    with _draining_server() as (url, sizes):
        client = make_client(base_url=url)
        client.create(image=_image(tmp_path, "warm.png", 400_000), prompt="p")  # imports, pools
        peak = _peak(lambda: client.create(**fields))
        client.aclose() if client.is_async else client.close()
    assert len(sizes) == 2
    assert sizes[1] > total * 4 // 3  # the whole Base64 went
    print(f"peak {peak / total:.3f}x")  # shown with -s
    assert peak / total < TARGET, f"peak {peak / total:.2f}x the files' {total:,} bytes"


def _capture(is_async: bool) -> tuple[list[httpx.Request], Any]:
    """A user's http_client whose transport keeps every request it sends, body read."""
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(429, json={"detail": "slow down"})])

    def answer() -> httpx.Response:
        return next(answers, None) or httpx.Response(202, content=TASK)

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer()

    async def ahandler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen.append(request)
        return answer()

    if is_async:
        return seen, httpx.AsyncClient(transport=httpx.MockTransport(ahandler))
    return seen, httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_streamed_body_is_json_of_the_data_uri_byte_for_byte_and_resent_whole(
    kind: str, tmp_path: Path
) -> None:
    """Both images streamed: the bytes sent equal httpx's ``json=`` of the body with the data
    URIs (non-ASCII and quotes in other fields included), under an exact Content-Length, not
    chunked; the retry after a 429 sends the same bytes again."""
    fields: dict[str, Any] = {
        "image": _image(tmp_path, "a.png", 300_001),  # not a multiple of the chunk or of 3
        "last_frame": make_image("jpeg", 400, 400),  # bytes, not a path
        "prompt": 'un "chat" qui danse, été',
        "extra_body": {"note": ["ü", 1.5, None]},
    }
    expected = httpx.Request(
        "POST", "http://x/", json=build_create_request(fields).to_dict()
    ).content
    seen, http = _capture(kind == "async")
    cls = wan_i2v.AsyncClient if kind == "async" else wan_i2v.Client
    client = SyncOrAsync(cls(api_key=KEY, base_url="http://api.test/prefix", http_client=http))
    client.create(**fields)
    assert len(seen) == 2  # the 429, then the retry
    for request in seen:
        assert request.content == expected
        assert request.headers["content-length"] == str(len(expected))
        assert "transfer-encoding" not in request.headers
        assert request.url.path.startswith("/prefix/vendors/")


def test_the_streamed_body_holds_no_data_uri_until_sent(tmp_path: Path) -> None:
    """What the clients build holds the image's bytes and a short placeholder, never the data
    URI; the request arguments carry a stream with the exact length."""
    fields = {"image": _image(tmp_path, "a.png", 600_000), "prompt": "p"}
    body = build_create_request(fields, stream_images=True)
    assert len(body.image) < 200
    assert body.image.startswith("data:image/png;base64,<800000 base64 chars")
    kwargs = create_request(body, base_url=httpx.URL("http://h/"), upload=lambda b: b)
    assert "json" not in kwargs
    assert kwargs["headers"]["Content-Length"] == str(
        len(json.dumps(build_create_request(fields).to_dict(), separators=(",", ":")))
    )


def test_debug_log_shows_the_streamed_body_with_image_data_elided(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, a streamed create body is logged as a data URI's was: every field, the image
    as its mime and Base64 length, no Base64 at all."""
    _, http = _capture(False)
    client = wan_i2v.Client(api_key=KEY, base_url="http://api.test", http_client=http)
    with caplog.at_level(logging.DEBUG, logger="wan_i2v"):
        client.create(image=_image(tmp_path, "a.png", 30_000), prompt="hello")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("request"))
    assert '"prompt":"hello"' in line
    assert '"image":"data:image/png;base64,<40000 base64 chars>"' in line
    assert "iVBOR" not in line  # the PNG signature's Base64


def test_async_streaming_works_on_the_event_loop(tmp_path: Path) -> None:
    """The async client streams the body from the event loop (an async iterable httpx
    accepts), against a real server."""
    image = _image(tmp_path, "a.png", 1_000_000)

    async def go() -> tuple[str, str]:
        with scripted_server(lambda seen: Reply(202, TASK)) as server:
            async with wan_i2v.AsyncClient(api_key=KEY, base_url=server.url) as client:
                task = await client.create(image=image, prompt="p")
            sent = server.requests[0].headers["content-length"]
            return task.id, sent

    task_id, sent = asyncio.run(go())
    body = build_create_request({"image": image, "prompt": "p"}).to_dict()
    assert sent == str(len(httpx.Request("POST", "http://x/", json=body).content))
    assert task_id
