"""One "what to check" text for an unknown create outcome, said by every face: the library's
error, a batch row, the MCP server's result and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagefiles import write_image

import wan_i2v
from wan_i2v import CreateOutcomeUnknownError
from wan_i2v.cli._display import Run, Where
from wan_i2v.mcp._keys import unknown_advice
from wan_i2v.sandbox import SandboxConfig, serve

ADVICE = CreateOutcomeUnknownError.what_to_check


def test_the_library_and_a_batch_row_say_the_one_text(tmp_path: Path) -> None:
    """A 503 after the task existed: the error from create and a batch row's detail both
    carry the one text (the batch adds only how to pay again)."""
    write_image(tmp_path, "a.png", "png", 640, 480)
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        sandbox.inject(503, operation="create", after_create=True, count=2)
        with wan_i2v.Client(base_url=sandbox.url, api_key="k") as client:
            with pytest.raises(CreateOutcomeUnknownError) as raised:
                client.create(image=tmp_path / "a.png", prompt="p")
            rows = [{"key": "r", "image": str(tmp_path / "a.png"), "prompt": "p"}]
            (row,) = client.generate_many(rows, tmp_path / "out")
    assert ADVICE in str(raised.value)
    assert row.status == "unknown"
    assert ADVICE in (row.error_detail or "")
    assert "--retry-unknown" in (row.error_detail or "")


def test_the_mcp_result_says_the_one_text() -> None:
    """What an agent reads for an unknown outcome: why, the one text, then retry_unknown."""
    advice = unknown_advice("the server answered 503")
    assert ADVICE in advice
    assert "the server answered 503" in advice
    assert "retry_unknown: true" in advice


def test_the_command_line_interrupted_during_the_post_says_the_one_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C while the create POST is in flight: the command line says the one text."""
    run = Run(as_json=False, where=Where(base_url="https://api.example"))
    run.creating()
    run.fail(KeyboardInterrupt())
    assert ADVICE in capsys.readouterr().err
