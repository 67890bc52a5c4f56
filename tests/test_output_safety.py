"""Nothing is replaced that the user did not mean, and a download is a video or an error.

Real files (FIFOs, unix sockets, device nodes, /dev/null itself), real local servers (the
sandbox, scripted video hosts answering HTML, JSON, gzip bombs, short bodies), both clients.
The tests count what matters: tasks created (money), requests sent, files left or replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import socket
import stat
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from conftest import KEY, TASK_ID, task_json
from servers import Reply, ScriptedServer, Seen, scripted_server
from test_cli import wan

import wan_i2v
from wan_i2v._download import PartialFile, _exchange
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve
from wan_i2v.testing import TINY_MP4

URL_IMAGE = "https://example.com/flower.jpg"


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as running:
        yield running


def _kind(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.mp4"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    """A listening unix socket file (a short path: sun_path holds about 100 bytes)."""
    path = tmp_path / "s.mp4"
    if len(os.fsencode(path)) > 100:
        pytest.skip("tmp_path too long for a unix socket")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    try:
        yield path
    finally:
        sock.close()


def _char_device(folder: Path) -> Path:
    """A character device like /dev/null (1, 3), made here: only root may."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    path = folder / "null.mp4"
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


# --- The output is a regular file or nothing: refused before paying --------------------------


@pytest.mark.parametrize("kind", ["fifo", "socket", "character device"])
def test_a_special_output_is_refused_before_paying_even_with_overwrite(
    using: Any, sandbox: RunningSandbox, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    """generate(output=FIFO/socket/device, overwrite=True): ValidationError naming the kind,
    no task created, the file still what it was, nothing else made in the folder."""
    if kind == "fifo":
        target = _fifo(tmp_path)
    elif kind == "socket":
        target = request.getfixturevalue("unix_socket")
    else:
        target = _char_device(tmp_path)
    before = _kind(target)
    with pytest.raises(wan_i2v.ValidationError, match=f"(?i){kind}") as info:
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=target, overwrite=True),
            base_url=sandbox.url,
        )
    assert info.value.field == "output"
    assert sandbox.state.tasks_created == 0
    assert _kind(target) == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_dev_null_is_refused_before_paying(using: Any, sandbox: RunningSandbox) -> None:
    """-o /dev/null with overwrite (the real one, no symlink on the way): refused naming a
    character device, no task, /dev/null still a device. (A guard stops any commit, so that
    this test cannot replace /dev/null even with the rule removed.)"""
    with (
        mock.patch.object(PartialFile, "commit", side_effect=AssertionError("would replace")),
        pytest.raises(wan_i2v.ValidationError, match="character device"),
    ):
        using(
            lambda c: c.generate(
                image=URL_IMAGE, prompt="p", output=Path("/dev/null"), overwrite=True
            ),
            base_url=sandbox.url,
        )
    assert sandbox.state.tasks_created == 0
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_download_to_a_fifo_is_refused_before_fetching(using: Any, tmp_path: Path) -> None:
    """download(url, FIFO, overwrite=True): refused with no request to the video host."""
    target = _fifo(tmp_path)
    with scripted_server(lambda seen: Reply(200, TINY_MP4)) as video:
        with pytest.raises(wan_i2v.ValidationError, match="FIFO"):
            using(lambda c: c.download(f"{video.url}/v.mp4", target, overwrite=True))
        assert video.count() == 0
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


def test_a_symlink_output_is_replaced_as_a_name(using: Any, tmp_path: Path) -> None:
    """A symlink (even to a FIFO) is replaced as a name with overwrite: the link becomes the
    video, what it pointed to is untouched."""
    pipe = _fifo(tmp_path)
    link = tmp_path / "link.mp4"
    link.symlink_to(pipe)
    with scripted_server(lambda seen: Reply(200, TINY_MP4)) as video:
        path = using(lambda c: c.download(f"{video.url}/v.mp4", link, overwrite=True))
    assert path.read_bytes() == TINY_MP4
    assert not path.is_symlink()
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_an_output_folder_that_is_a_fifo_does_not_hang(using: Any, tmp_path: Path) -> None:
    """output='FIFO/' (a folder that is a FIFO): refused at once, nothing opened on it."""
    pipe = _fifo(tmp_path)
    started = time.monotonic()
    with pytest.raises(wan_i2v.ValidationError, match="folder"):
        using(lambda c: c.download("https://v.example/x.mp4", f"{pipe}/", overwrite=True))
    assert time.monotonic() - started < 5


# --- ... and checked again when the video is moved into place ---------------------------------


def _swap_then_serve(target: Path) -> Any:
    """A video host that, before answering, turns the (planned) target into a FIFO."""

    def script(seen: Seen) -> Reply:
        target.unlink()
        os.mkfifo(target)
        return Reply(200, TINY_MP4, headers={"Content-Type": "video/mp4"})

    return script


@pytest.mark.parametrize("swap", ["atomic swap", "no atomic swap"])
def test_a_fifo_that_appears_after_the_plan_is_not_replaced(
    using: Any, tmp_path: Path, swap: str
) -> None:
    """The target was a regular file at planning and is a FIFO at commit: DownloadError, the
    FIFO stays, no temporary file is left (also where names cannot be swapped atomically)."""
    target = tmp_path / "v.mp4"
    target.write_bytes(b"old")
    no_swap = mock.patch("wan_i2v._download._exchange", return_value=None)
    with (
        no_swap if swap == "no atomic swap" else contextlib.nullcontext(),
        scripted_server(_swap_then_serve(target)) as video,
        pytest.raises(wan_i2v.DownloadError, match="FIFO"),
    ):
        using(lambda c: c.download(f"{video.url}/v.mp4", target, overwrite=True), max_retries=0)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def _part(target: Path) -> PartialFile:
    request = httpx.Request("GET", "https://v.example/x.mp4")
    response = httpx.Response(200, content=TINY_MP4, request=request)
    return PartialFile(target, response, overwrite=True, task_id=TASK_ID, max_bytes=10**6)


def test_a_fifo_slipped_in_between_the_check_and_the_rename_is_put_back(tmp_path: Path) -> None:
    """The race: every lstat check is blinded (as if the FIFO appeared just after it), yet the
    atomic swap finds it and puts it back: the FIFO is never replaced, nothing is left."""
    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.write_bytes(b"a")
    probe_b.write_bytes(b"b")
    if _exchange(probe_a, probe_b) is None:
        pytest.skip("no renameat2(RENAME_EXCHANGE) on this system")
    probe_a.unlink()
    probe_b.unlink()
    target = _fifo(tmp_path)
    with (
        mock.patch("wan_i2v._download.special_kind", return_value=None),
        pytest.raises(wan_i2v.DownloadError, match="FIFO") as info,
        _part(target) as part,
    ):
        part.write(TINY_MP4)
        part.commit()
    assert info.value.task_id == TASK_ID
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_overwrite_replaces_a_regular_file_whole(tmp_path: Path) -> None:
    """The usual case still works: a regular file is replaced by the video, nothing left."""
    target = tmp_path / "v.mp4"
    target.write_bytes(b"old")
    with _part(target) as part:
        part.write(TINY_MP4)
        part.commit()
    assert target.read_bytes() == TINY_MP4
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


# --- A download is a video or an error --------------------------------------------------------


@functools.cache
def _gzip_bomb(inflated: int = 300_000_000) -> bytes:
    """An MP4 box header then zeros, ``inflated`` bytes in all, gzip-compressed (~300 kB)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    head = TINY_MP4[:32]
    parts = [packer.compress(head)]
    zeros = b"\0" * (1 << 20)
    left = inflated - len(head)
    while left > 0:
        parts.append(packer.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    parts.append(packer.flush())
    return b"".join(parts)


NOT_VIDEOS = {
    "html page": (
        b"<!DOCTYPE html><html><head><title>Access Denied</title></head></html>",
        "text/html",
        "HTML page",
    ),
    "json body": (b'{"error": "expired link"}', "application/json", "JSON"),
    "json labelled video": (b'{"error": "expired link"}', "video/mp4", "JSON"),
    "html labelled octet-stream": (b"\n  <html>denied</html>", "application/octet-stream", "HTML"),
    "mp4 labelled html": (TINY_MP4, "text/html; charset=utf-8", "text/html"),
    "placeholder bytes": (b"video", "video/mp4", "5 bytes"),
    "binary junk": (bytes(range(200, 248)), "video/mp4", "bytes c8 c9"),
    "control characters": (b"\x1b]0;pwned\x07\x1b[2J" + b"A" * 40, "video/mp4", "?]0;pwned??"),
}


@pytest.mark.parametrize("name", list(NOT_VIDEOS))
def test_a_body_that_is_not_a_video_is_refused(using: Any, tmp_path: Path, name: str) -> None:
    """200 with an error page, JSON, a mislabelled body or a few placeholder bytes:
    DownloadError (not transient, not retried) naming what arrived, terminal-safe; no file."""
    body, media, named = NOT_VIDEOS[name]
    reply = Reply(200, body, headers={"Content-Type": media})
    out = tmp_path / "out"
    with scripted_server(lambda seen: reply) as video:
        with pytest.raises(wan_i2v.DownloadError) as info:
            using(lambda c: c.download(f"{video.url}/v.mp4", out / "v.mp4"))
        assert video.count("GET") == 1
    message = str(info.value)
    assert named in message
    assert not info.value.transient
    assert all(" " <= ch <= "~" for ch in message), message
    assert len(message) < 300
    assert list(out.iterdir()) == []


def test_a_video_past_max_video_bytes_is_cut_off(using: Any, tmp_path: Path) -> None:
    """A 3 MB video with max_video_bytes=1_000_000 (no Content-Length): DownloadError naming
    the limit, not transient (not retried), no file."""
    body = TINY_MP4 + b"\0" * 3_000_000
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    with (
        scripted_server(lambda seen: Reply(200, iter(chunks))) as video,
        pytest.raises(wan_i2v.DownloadError, match="max_video_bytes") as info,
    ):
        using(
            lambda c: c.download(f"{video.url}/v.mp4", tmp_path / "v.mp4"),
            max_video_bytes=1_000_000,
        )
    assert "1,000,000" in str(info.value)
    assert not info.value.transient
    assert list(tmp_path.iterdir()) == []


def test_an_announced_length_past_the_cap_is_refused_unread(using: Any, tmp_path: Path) -> None:
    """Content-Length beyond max_video_bytes: refused before a byte is written."""
    body = TINY_MP4 + b"\0" * 200_000
    with (
        scripted_server(lambda seen: Reply(200, body)) as video,
        mock.patch.object(PartialFile, "write", side_effect=AssertionError("written")),
        pytest.raises(wan_i2v.DownloadError, match="announces 211,852 bytes"),
    ):
        using(
            lambda c: c.download(f"{video.url}/v.mp4", tmp_path / "v.mp4"),
            max_video_bytes=100_000,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_gzip_bomb_is_cut_off_at_the_cap(using: Any, tmp_path: Path) -> None:
    """A gzip body inflating to 300 MB, max_video_bytes=10 MB: DownloadError within seconds
    (it stopped at the cap instead of inflating 300 MB to disk), one GET, no file."""
    bomb = _gzip_bomb()
    reply = Reply(200, bomb, headers={"Content-Encoding": "gzip", "Content-Type": "video/mp4"})
    with scripted_server(lambda seen: reply) as video:
        started = time.monotonic()
        with pytest.raises(wan_i2v.DownloadError, match="max_video_bytes"):
            using(
                lambda c: c.download(f"{video.url}/v.mp4", tmp_path / "v.mp4"),
                max_video_bytes=10_000_000,
            )
        assert video.count("GET") == 1
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []


def test_the_default_cap_is_500_mb() -> None:
    """max_video_bytes defaults to 500,000,000 on both clients; below 1 is refused."""
    for cls in (wan_i2v.Client, wan_i2v.AsyncClient):
        assert cls(api_key=KEY)._settings.max_video_bytes == 500_000_000
        with pytest.raises(wan_i2v.ConfigurationError, match="max_video_bytes"):
            cls(api_key=KEY, max_video_bytes=0)


def test_a_body_shorter_than_its_content_length_is_refused(using: Any, tmp_path: Path) -> None:
    """The server claims 20,000 bytes and sends the 11,852 of a real MP4, then hangs up:
    DownloadError, no file (the server's claim is counted against what arrived)."""
    reply = Reply(200, [TINY_MP4], length=20_000)
    with scripted_server(lambda seen: reply) as video, pytest.raises(wan_i2v.DownloadError):
        using(lambda c: c.download(f"{video.url}/v.mp4", tmp_path / "v.mp4"), max_retries=0)
    assert list(tmp_path.iterdir()) == []


def test_a_short_body_through_a_lenient_transport_is_refused(tmp_path: Path) -> None:
    """A user's transport that does not check Content-Length (a MockTransport): the client
    counts the bytes that arrived against the claim itself (both clients)."""

    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=TINY_MP4, headers={"Content-Length": "20000"})

    url = "https://videos.example/v.mp4"
    with (
        httpx.Client(transport=httpx.MockTransport(short)) as user,
        wan_i2v.Client(api_key=KEY, http_client=user, max_retries=0) as client,
        pytest.raises(wan_i2v.DownloadError, match="11852 of 20000 bytes"),
    ):
        client.download(url, tmp_path / "v.mp4")

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(short)) as user,
            wan_i2v.AsyncClient(api_key=KEY, http_client=user, max_retries=0) as client,
        ):
            await client.download(url, tmp_path / "v.mp4")

    with pytest.raises(wan_i2v.DownloadError, match="11852 of 20000 bytes"):
        asyncio.run(main())
    assert list(tmp_path.iterdir()) == []


def test_tiny_mp4_is_accepted_as_a_video(using: Any, tmp_path: Path) -> None:
    """wan_i2v.testing.TINY_MP4, served with or without a media type, downloads whole."""
    with scripted_server(lambda seen: Reply(200, TINY_MP4)) as video:
        path = using(lambda c: c.download(f"{video.url}/v.mp4", tmp_path / "v.mp4"))
    assert path.read_bytes() == TINY_MP4


# --- The command line ---------------------------------------------------------------------


def _image(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "in.jpg"
    Image.new("RGB", (640, 480), (90, 160, 60)).save(path)
    return path


@pytest.mark.slow
def test_cli_no_wait_checks_the_output_before_creating(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """generate --no-wait -o EXISTING, and -o FIFO --overwrite: exit 2, no task created (no
    "Continue with" that could only fail after the whole wait)."""
    env = {"MULEROUTER_BASE_URL": sandbox.url, "MULEROUTER_API_KEY": KEY}
    image = _image(tmp_path)
    existing = tmp_path / "cat.mp4"
    existing.write_bytes(b"mine")
    pipe = _fifo(tmp_path)
    for extra in (["-o", str(existing)], ["-o", str(pipe), "--overwrite"]):
        result = wan("generate", str(image), "--prompt", "x", "--no-wait", *extra, env=env)
        assert result.returncode == 2, result.stderr
        assert "Continue with" not in result.stderr
        assert "Traceback" not in result.stderr
    assert sandbox.state.tasks_created == 0
    assert existing.read_bytes() == b"mine"


@pytest.mark.slow
def test_cli_wait_checks_the_output_before_polling(tmp_path: Path) -> None:
    """wait TASK -o EXISTING (and -o FIFO --overwrite): exit 2 before a single poll."""
    existing = tmp_path / "cat.mp4"
    existing.write_bytes(b"mine")
    pipe = _fifo(tmp_path)
    done = json.dumps(task_json("succeeded", videos=["https://v.example/x.mp4"])).encode()
    with scripted_server(lambda seen: Reply(200, done)) as api:
        for extra in (["-o", str(existing)], ["-o", str(pipe), "--overwrite"]):
            result = wan(
                "--base-url", api.url, "wait", TASK_ID, *extra, env={"MULEROUTER_API_KEY": KEY}
            )
            assert result.returncode == 2, result.stderr
        assert api.count() == 0
    assert existing.read_bytes() == b"mine"


def _api_and_video(api: ScriptedServer, video: ScriptedServer) -> None:
    link = f"{video.url}/v.mp4"
    api.script = lambda seen: Reply(200, json.dumps(task_json("succeeded", videos=[link])).encode())


@pytest.mark.slow
def test_cli_max_video_bytes_and_html_videos(tmp_path: Path) -> None:
    """download --max-video-bytes 1000: exit 1, no file; an HTML 'video': exit 1, no file;
    --max-video-bytes 0: exit 2; the real MP4 within the cap: exit 0, written."""
    env = {"MULEROUTER_API_KEY": KEY}
    page = Reply(200, b"<html>denied</html>", headers={"Content-Type": "text/html"})
    with scripted_server() as api, scripted_server(lambda seen: Reply(200, TINY_MP4)) as video:
        _api_and_video(api, video)
        out = tmp_path / "out"
        args = ["--base-url", api.url, "download", TASK_ID, "-o", f"{out}/"]
        small = wan(*args, "--max-video-bytes", "1000", env=env)
        assert small.returncode == 1, small.stderr
        assert "max_video_bytes" in small.stderr
        assert wan(*args, "--max-video-bytes", "0", env=env).returncode == 2
        video.script = lambda seen: page
        html = wan(*args, env=env)
        assert html.returncode == 1
        assert "HTML page" in html.stderr
        assert list(out.iterdir()) == []
        video.script = lambda seen: Reply(200, TINY_MP4)
        ok = wan(*args, "--max-video-bytes", "20000", env=env)
        assert ok.returncode == 0, ok.stderr
        assert Path(ok.stdout.strip()).read_bytes() == TINY_MP4
