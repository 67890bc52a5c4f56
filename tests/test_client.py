"""create, get, wait, download and generate through both clients against a mocked API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE, CREATE_PATH, KEY, TASK_ID, TASK_PATH, VIDEO_URL, task_json

import wan_i2v

URL_IMAGE = "https://example.com/flower.jpg"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000


def test_create_returns_our_task_type(api: respx.MockRouter, client: Any) -> None:
    """The 202 becomes a Task with a str id and aware datetimes, not a generated model."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    task = client.create(image=URL_IMAGE, prompt="p")
    assert isinstance(task, wan_i2v.Task)
    assert task.id == TASK_ID
    assert task.status == "pending"
    assert task.created_at == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)
    assert not task.is_done
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.url == f"{BASE}{CREATE_PATH}"
    assert request.headers["user-agent"].startswith(f"wan-i2v/{wan_i2v.__version__} ")


def test_create_accepts_another_2xx_with_a_task(api: respx.MockRouter, client: Any) -> None:
    """A 201 with a task envelope is a created task, not an error (D8)."""
    api.post(CREATE_PATH).respond(201, json=task_json("queued"))
    assert client.create(image=URL_IMAGE, prompt="p").status == "queued"


def test_create_with_unreadable_2xx_is_outcome_unknown(api: respx.MockRouter, client: Any) -> None:
    """A 202 whose body lacks task_info may still be a task: outcome unknown, one POST."""
    route = api.post(CREATE_PATH).respond(202, json={"surprise": True})
    with pytest.raises(wan_i2v.CreateOutcomeUnknownError):
        client.create(image=URL_IMAGE, prompt="p")
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, wan_i2v.BadRequestError),
        (401, wan_i2v.AuthenticationError),
        (402, wan_i2v.PaymentRequiredError),
        (403, wan_i2v.PermissionDeniedError),
        (404, wan_i2v.NotFoundError),
        (409, wan_i2v.ConflictError),
        (422, wan_i2v.UnprocessableEntityError),
    ],
)
def test_error_statuses_map_to_typed_errors(
    api: respx.MockRouter, client: Any, status: int, cls: type[wan_i2v.APIStatusError]
) -> None:
    """Each documented error status raises its own class with status, body and request id."""
    route = api.post(CREATE_PATH).respond(
        status, json={"detail": "explained"}, headers={"traceparent": "00-abc-def-01"}
    )
    with pytest.raises(cls) as info:
        client.create(image=URL_IMAGE, prompt="p")
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.body == {"detail": "explained"}
    assert err.request_id == "00-abc-def-01"
    assert "explained" in str(err)
    assert "00-abc-def-01" in str(err)
    assert route.call_count == 1  # 4xx other than 429 are never retried


@pytest.mark.parametrize(
    "body",
    [
        {"error": "from error"},
        {"message": "from message"},
        {"task_info": {"error": {"code": 4002, "title": "T", "detail": "from task_info"}}},
    ],
)
def test_error_message_found_wherever_the_api_puts_it(
    api: respx.MockRouter, client: Any, body: dict[str, Any]
) -> None:
    """detail, error, message or task_info.error: the message reaches the exception."""
    api.get(TASK_PATH).respond(400, json=body)
    with pytest.raises(wan_i2v.BadRequestError, match="from "):
        client.get(TASK_ID)


def test_non_json_error_body_does_not_crash(api: respx.MockRouter, client: Any) -> None:
    """An HTML 502 from a proxy is an InternalServerError, not a JSON decode crash."""
    api.get(TASK_PATH).respond(502, text="<html><body>Bad gateway</body></html>")
    with pytest.raises(wan_i2v.InternalServerError) as info:
        client.get(TASK_ID)
    assert info.value.status_code == 502


def test_status_outside_httpstatus_is_a_server_error(api: respx.MockRouter, client: Any) -> None:
    """A 520 (not in HTTPStatus) is mapped, where the generated code would raise ValueError."""
    api.get(TASK_PATH).respond(520, text="")
    with pytest.raises(wan_i2v.InternalServerError):
        client.get(TASK_ID)


def test_get_parses_both_vocabularies_and_unknown_words(api: respx.MockRouter, client: Any) -> None:
    """Every documented status word and an unknown one parse into the right phase."""
    expected = {
        "pending": "pending", "queued": "pending", "processing": "running",
        "running": "running", "retrying": "running", "completed": "succeeded",
        "succeeded": "succeeded", "failed": "failed", "paused_for_review": "unknown",
    }  # fmt: skip
    route = api.get(TASK_PATH)
    for word, phase in expected.items():
        route.respond(200, json=task_json(word))
        task = client.get(TASK_ID)
        assert task.status == word
        assert task.phase == phase


def test_get_refuses_a_malformed_id_unsent(api: respx.MockRouter, client: Any) -> None:
    """A task id that is not a UUID raises ValidationError and sends nothing."""
    with pytest.raises(wan_i2v.ValidationError, match="task_id"):
        client.get("../../etc/passwd")
    assert len(api.calls) == 0


def test_wait_returns_the_succeeded_task_and_reports_each_change(
    api: respx.MockRouter, client: Any
) -> None:
    """wait() polls through both vocabularies and calls on_status once per change."""
    api.get(TASK_PATH).mock(
        side_effect=[
            httpx.Response(200, json=task_json("queued")),
            httpx.Response(200, json=task_json("queued")),
            httpx.Response(200, json=task_json("running")),
            httpx.Response(200, json=task_json("succeeded", videos=[VIDEO_URL])),
        ]
    )
    seen: list[str] = []
    task = client.wait(TASK_ID, poll_interval=0, on_status=lambda t: seen.append(t.status))
    assert task.is_success
    assert task.videos == (VIDEO_URL,)
    assert seen == ["queued", "running", "succeeded"]


def test_wait_raises_task_failed_with_the_error_object(api: respx.MockRouter, client: Any) -> None:
    """A failed task (HTTP 200) raises TaskFailedError with code, title and detail."""
    error = {"code": 3001, "title": "Task Execution Error", "detail": "Invalid image dimensions"}
    api.get(TASK_PATH).respond(200, json=task_json("failed", error=error))
    with pytest.raises(wan_i2v.TaskFailedError) as info:
        client.wait(TASK_ID, poll_interval=0)
    assert (info.value.code, info.value.title, info.value.detail) == (
        3001, "Task Execution Error", "Invalid image dimensions",
    )  # fmt: skip
    assert info.value.task_id == TASK_ID
    assert "Invalid image dimensions" in str(info.value)


def test_wait_accepts_error_code_spelling(api: respx.MockRouter, client: Any) -> None:
    """`error_code` instead of `code` is read too (D10)."""
    api.get(TASK_PATH).respond(
        200, json=task_json("failed", error={"error_code": 4008, "detail": "d"})
    )
    with pytest.raises(wan_i2v.TaskFailedError) as info:
        client.wait(TASK_ID, poll_interval=0)
    assert info.value.code == 4008


def test_wait_keeps_going_through_failed_polls(api: respx.MockRouter, make_client: Any) -> None:
    """A poll that fails even after its retries is not a failed task: waiting goes on."""
    client = make_client(max_retries=0)
    api.get(TASK_PATH).mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy"}),
            httpx.ConnectError("down"),
            httpx.Response(200, json=task_json("completed", videos=[VIDEO_URL])),
        ]
    )
    assert client.wait(TASK_ID, poll_interval=0).is_success


def test_wait_stops_on_an_error_that_will_not_pass(api: respx.MockRouter, client: Any) -> None:
    """A 401 while waiting is raised at once, not retried until the deadline."""
    route = api.get(TASK_PATH).respond(401, json={"detail": "expired"})
    with pytest.raises(wan_i2v.AuthenticationError):
        client.wait(TASK_ID, poll_interval=0)
    assert route.call_count == 1


def test_wait_success_without_video_is_an_error(api: respx.MockRouter, client: Any) -> None:
    """A 'completed' task with no videos cannot be downloaded: an error, not a success."""
    api.get(TASK_PATH).respond(200, json=task_json("completed"))
    with pytest.raises(wan_i2v.APIResponseValidationError, match="no video"):
        client.wait(TASK_ID, poll_interval=0)


def test_wait_times_out_with_the_last_status(api: respx.MockRouter, client: Any) -> None:
    """The deadline raises WaitTimeoutError saying the task may still run and how to resume."""
    api.get(TASK_PATH).respond(200, json=task_json("processing"))
    with pytest.raises(wan_i2v.WaitTimeoutError) as info:
        client.wait(TASK_ID, timeout=0.05, poll_interval=0.01)
    assert info.value.last_status == "processing"
    assert info.value.task_id == TASK_ID
    assert "may still be running" in str(info.value)
    assert f"wait('{TASK_ID}')" in str(info.value)


def test_download_streams_to_an_atomic_file_without_the_key(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """The video lands whole at <task id>.mp4 and its host never sees the API key."""
    video = api.get(VIDEO_URL).respond(200, content=VIDEO)
    api.get(TASK_PATH).respond(200, json=task_json("completed", videos=[VIDEO_URL]))
    task = client.get(TASK_ID)
    path = client.download(task, tmp_path)
    assert path == tmp_path / f"{TASK_ID}.mp4"
    assert path.read_bytes() == VIDEO
    assert "authorization" not in video.calls.last.request.headers
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_download_refuses_to_overwrite(api: respx.MockRouter, client: Any, tmp_path: Path) -> None:
    """An existing file is kept unless overwrite=True; nothing is fetched."""
    video = api.get(VIDEO_URL).respond(200, content=VIDEO)
    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(wan_i2v.OutputExistsError):
        client.download(VIDEO_URL, target)
    assert target.read_bytes() == b"precious"
    assert video.call_count == 0
    client.download(VIDEO_URL, target, overwrite=True)
    assert target.read_bytes() == VIDEO


def test_download_truncated_body_leaves_nothing(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """A body shorter than its Content-Length leaves no file that looks whole."""
    api.get(VIDEO_URL).respond(
        200, content=VIDEO[:100], headers={"content-length": str(len(VIDEO))}
    )
    with pytest.raises((wan_i2v.DownloadError, wan_i2v.APIConnectionError)):
        client.download(VIDEO_URL, tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


def test_download_failure_mid_stream_leaves_nothing(
    api: respx.MockRouter, make_client: Any, tmp_path: Path
) -> None:
    """A connection lost during the body removes the partial file and retries the GET."""
    client = make_client(max_retries=1)

    class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
        def __iter__(self) -> Any:
            yield VIDEO[:10]
            raise httpx.ReadError("lost")

        async def __aiter__(self) -> Any:
            yield VIDEO[:10]
            raise httpx.ReadError("lost")

    route = api.get(VIDEO_URL).mock(
        side_effect=[httpx.Response(200, stream=Broken()), httpx.Response(200, content=VIDEO)]
    )
    path = client.download(VIDEO_URL, tmp_path / "v.mp4")
    assert path.read_bytes() == VIDEO
    assert route.call_count == 2
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_download_expired_url_is_a_typed_error(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """A 403 from the video host (an expired URL) is a DownloadError about the link, not an
    API error about the key (which was never sent there); no file is left."""
    api.get(VIDEO_URL).respond(403, text="<Error>AccessDenied</Error>")
    with pytest.raises(wan_i2v.DownloadError, match="may have expired") as info:
        client.download(VIDEO_URL, tmp_path / "v.mp4")
    assert info.value.status_code == 403
    assert not isinstance(info.value, wan_i2v.APIError)
    assert "API key" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_default_file_name_is_sanitised(api: respx.MockRouter, client: Any, tmp_path: Path) -> None:
    """A URL's odd file name cannot climb out of the target folder."""
    url = "https://videos.example.com/a/..%2F..%2Fevil name.mp4"
    api.get(url).respond(200, content=VIDEO)
    path = client.download(url, tmp_path)
    assert path.parent == tmp_path
    assert "/" not in path.name
    assert " " not in path.name


def test_generate_creates_waits_downloads_and_reports_the_id_first(
    api: respx.MockRouter, client: Any, tmp_path: Path, image_path: Path
) -> None:
    """generate() fires on_created before polling, then returns the downloaded path."""
    events: list[str] = []
    api.post(CREATE_PATH).respond(202, json=task_json())
    api.get(TASK_PATH).mock(
        side_effect=lambda request: (
            events.append("poll"),
            httpx.Response(200, json=task_json("completed", videos=[VIDEO_URL])),
        )[1]
    )
    api.get(VIDEO_URL).respond(200, content=VIDEO)
    out = client.generate(
        image=image_path,
        prompt="p",
        output=tmp_path / "out.mp4",
        poll_interval=0,
        on_created=lambda task: events.append(f"created {task.id}"),
    )
    assert out.read_bytes() == VIDEO
    assert events == [f"created {TASK_ID}", "poll"]


def test_generate_refuses_existing_output_before_creating(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """No task is paid for when its video could not be written."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    (tmp_path / "out.mp4").write_bytes(b"x")
    with pytest.raises(wan_i2v.OutputExistsError):
        client.generate(image=URL_IMAGE, prompt="p", output=tmp_path / "out.mp4")
    assert route.call_count == 0


def test_user_http_client_is_used_and_stays_open(api: respx.MockRouter) -> None:
    """http_client= carries our requests (with the key) and is not closed by close()."""
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as http:
        api.post(CREATE_PATH).respond(202, json=task_json())
        with wan_i2v.Client(api_key=KEY, http_client=http) as client:
            client.create(image=URL_IMAGE, prompt="p")
        assert not http.is_closed
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_downloaded_file_has_ordinary_permissions(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """The video is created like any new file (umask decides), not private like a temp file."""
    import os

    api.get(VIDEO_URL).respond(200, content=VIDEO)
    umask = os.umask(0o022)
    try:
        path = client.download(VIDEO_URL, tmp_path / "v.mp4")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_trailing_slash_names_a_folder(api: respx.MockRouter, client: Any, tmp_path: Path) -> None:
    """download(..., "videos/") never writes a file called "videos": the folder is created
    and the default name goes inside."""
    api.get(VIDEO_URL).respond(200, content=VIDEO)
    path = client.download(VIDEO_URL, f"{tmp_path}/videos/")
    assert path.parent == tmp_path / "videos"
    assert path.read_bytes() == VIDEO
    assert [p.name for p in (tmp_path / "videos").iterdir()] == [path.name]
