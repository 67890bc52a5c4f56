"""A server that answers about another task is not believed: its status and videos are not the
task's (a lying server, or a cache in between). get, wait and download(task_id) all refuse it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import respx
from conftest import TASK_ID, TASK_PATH, VIDEO_URL, task_json

import wan_i2v
from wan_i2v.testing import TINY_MP4

OTHER = "11111111-2222-4333-8444-555555555555"


def test_get_refuses_an_answer_about_another_task(api: respx.MockRouter, client: Any) -> None:
    """get(A) answered with task B: APIResponseValidationError naming A, never B's Task."""
    api.get(TASK_PATH).respond(200, json=task_json("completed", task_id=OTHER, videos=[VIDEO_URL]))
    with pytest.raises(wan_i2v.APIResponseValidationError, match=OTHER) as info:
        client.get(TASK_ID)
    assert info.value.task_id == TASK_ID


def test_wait_does_not_finish_on_another_tasks_success(api: respx.MockRouter, client: Any) -> None:
    """wait(A) sees "completed" for task B: refused at once, not returned as A's video."""
    route = api.get(TASK_PATH).respond(
        200, json=task_json("completed", task_id=OTHER, videos=[VIDEO_URL])
    )
    with pytest.raises(wan_i2v.APIResponseValidationError) as info:
        client.wait(TASK_ID, timeout=5)
    assert info.value.task_id == TASK_ID
    assert route.call_count == 1


def test_download_by_id_writes_nothing_for_another_task(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """download(A) whose get answers about B fetches no video and leaves no file."""
    api.get(TASK_PATH).respond(200, json=task_json("completed", task_id=OTHER, videos=[VIDEO_URL]))
    video = respx.get(VIDEO_URL).respond(200, content=TINY_MP4)
    with pytest.raises(wan_i2v.APIResponseValidationError):
        client.download(TASK_ID, tmp_path / "v.mp4")
    assert video.call_count == 0
    assert list(tmp_path.iterdir()) == []


def test_the_same_id_in_another_spelling_is_the_same_task(
    api: respx.MockRouter, client: Any
) -> None:
    """Upper case is the same UUID: not refused."""
    api.get(TASK_PATH).respond(200, json=task_json("pending", task_id=TASK_ID.upper()))
    assert client.get(TASK_ID).status == "pending"
