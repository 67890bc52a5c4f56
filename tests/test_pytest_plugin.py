"""The pytest plugin (wan_i2v.pytest_plugin), run as a user runs it: their test files, their
conftest, loaded through the ``pytest11`` entry point of the installed package."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

# Every inner run treats warnings as errors, as this project does: an unclosed socket or
# client left behind by a fixture then fails the user's test.
INNER_CONFIG = """
[pytest]
addopts = -p no:cacheprovider --strict-markers
filterwarnings = error
"""

# A user's helpers: an input image made with Pillow, as the testing extra provides it.
IMAGE_HELPER = """
import pytest
from PIL import Image


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    Image.new("RGB", (640, 480), (30, 120, 200)).save(path)
    return path
"""


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty project of a user: an ini file and a conftest with an image fixture."""
    pytester.makeini(INNER_CONFIG)
    pytester.makeconftest(IMAGE_HELPER)
    return pytester


def run(project: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Write one test file and run pytest on it in this process."""
    project.makepyfile(test_user=textwrap.dedent(source))
    return project.runpytest(*args)


def test_user_test_with_the_client_fixture_passes(user_project: pytest.Pytester) -> None:
    """A user's test makes a real video through wan_client, and the sandbox saw one create."""
    result = run(
        user_project,
        """
        import wan_i2v

        def test_video(wan_client, wan_sandbox, image, tmp_path):
            assert isinstance(wan_client, wan_i2v.Client)
            assert wan_client.base_url == wan_sandbox.url
            out = wan_client.generate(image=image, prompt="waves", output=tmp_path / "v.mp4")
            assert out.read_bytes()[4:8] == b"ftyp"
            assert wan_sandbox.state.tasks_created == 1
            assert ("POST", wan_i2v._spec_facts.CREATE_PATH) in (
                wan_sandbox.state.requests
            )
        """,
    )
    result.assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_sandbox(user_project: pytest.Pytester) -> None:
    """Counters and scripted faults do not leak from one test into the next."""
    result = run(
        user_project,
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_fresh(wan_client, wan_sandbox, image, n):
            assert wan_sandbox.state.tasks_created == 0
            assert not wan_sandbox.state.faults
            wan_client.create(image=image, prompt="p")
            wan_sandbox.state.inject(503, count=5)
            assert wan_sandbox.state.tasks_created == 1
        """,
    )
    result.assert_outcomes(passed=3)


def test_default_config_finishes_tasks_at_once(user_project: pytest.Pytester) -> None:
    """The default sandbox for tests has task_seconds 0, so a whole generate takes well under a
    second (the sandbox's own default is 3 s per task)."""
    result = run(
        user_project,
        """
        import time

        def test_fast(wan_client, wan_sandbox_config, image, tmp_path):
            assert wan_sandbox_config.task_seconds == 0
            start = time.monotonic()
            wan_client.generate(image=image, prompt="p", output=tmp_path / "v.mp4")
            assert time.monotonic() - start < 1.0
        """,
    )
    result.assert_outcomes(passed=1)


def test_overriding_the_config_fixture(user_project: pytest.Pytester) -> None:
    """A user's own wan_sandbox_config is used, and the clients send the key it requires."""
    user_project.makeconftest(
        IMAGE_HELPER
        + textwrap.dedent(
            """
            from wan_i2v.sandbox import SandboxConfig

            @pytest.fixture
            def wan_sandbox_config():
                return SandboxConfig(task_seconds=0, api_key="sk-mine", vocabulary="new")
            """
        )
    )
    result = run(
        user_project,
        """
        import pytest
        import wan_i2v

        def test_config(wan_client, wan_sandbox, wan_api_key, image):
            assert wan_api_key == "sk-mine"
            task = wan_client.wait(wan_client.create(image=image, prompt="p"))
            assert task.status == "succeeded"  # the "new" vocabulary

        def test_wrong_key_is_refused(wan_sandbox, image):
            with wan_i2v.Client(base_url=wan_sandbox.url, api_key="other") as client:
                with pytest.raises(wan_i2v.AuthenticationError):
                    client.create(image=image, prompt="p")
            assert wan_sandbox.state.tasks_created == 0
        """,
    )
    result.assert_outcomes(passed=2)


def test_marker_sets_config_fields_for_one_test(user_project: pytest.Pytester) -> None:
    """@pytest.mark.wan_sandbox(fail_rate=1.0) fails that test's tasks, and only that test's."""
    result = run(
        user_project,
        """
        import pytest
        import wan_i2v

        @pytest.mark.wan_sandbox(fail_rate=1.0)
        def test_failing(wan_client, wan_sandbox_config, image, tmp_path):
            assert wan_sandbox_config.task_seconds == 0  # the default is kept
            with pytest.raises(wan_i2v.TaskFailedError) as info:
                wan_client.generate(image=image, prompt="p", output=tmp_path / "v.mp4")
            assert info.value.code == 3001

        def test_unmarked(wan_client, image, tmp_path):
            wan_client.generate(image=image, prompt="p", output=tmp_path / "v.mp4")
        """,
    )
    result.assert_outcomes(passed=2)


def test_class_marker_is_overridden_by_the_test_marker(user_project: pytest.Pytester) -> None:
    """Markers merge from module to class to function, the closest winning per field."""
    result = run(
        user_project,
        """
        import pytest

        pytestmark = pytest.mark.wan_sandbox(seed=7, fail_rate=0.5)

        @pytest.mark.wan_sandbox(fail_rate=0.25)
        class TestGroup:
            @pytest.mark.wan_sandbox(vocabulary="new")
            def test_merged(self, wan_sandbox_config):
                assert wan_sandbox_config.seed == 7
                assert wan_sandbox_config.fail_rate == 0.25
                assert wan_sandbox_config.vocabulary == "new"
        """,
    )
    result.assert_outcomes(passed=1)


def test_unknown_marker_field_is_an_error(user_project: pytest.Pytester) -> None:
    """A misspelt field is reported by name, not ignored."""
    result = run(
        user_project,
        """
        import pytest

        @pytest.mark.wan_sandbox(fail_rat=1.0)
        def test_typo(wan_sandbox):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    assert "unknown SandboxConfig field(s) ['fail_rat']" in result.stdout.str()


def test_injected_faults_reach_the_client(user_project: pytest.Pytester) -> None:
    """Faults scripted on wan_sandbox.state come back to the client: a 503 on a status check
    is retried (two GETs reached the server), and with retries off it is raised."""
    result = run(
        user_project,
        """
        import pytest
        import wan_i2v

        GET = "GET"

        def gets(sandbox):
            return sum(1 for method, path in sandbox.state.requests
                       if method == GET and not path.startswith("/files/"))

        def test_retried(wan_client, wan_sandbox, image):
            task = wan_client.create(image=image, prompt="p")
            wan_sandbox.state.inject(503, operation="get")
            assert wan_client.get(task).is_success
            assert gets(wan_sandbox) == 2

        @pytest.mark.wan_client(max_retries=0)
        def test_raised(wan_client, wan_sandbox, image):
            task = wan_client.create(image=image, prompt="p")
            wan_sandbox.state.inject(503, operation="get")
            with pytest.raises(wan_i2v.InternalServerError):
                wan_client.get(task)
            assert gets(wan_sandbox) == 1

        @pytest.mark.wan_client(max_retries=0)
        def test_create_outcome_unknown(wan_client, wan_sandbox, image):
            wan_sandbox.state.inject(500, operation="create", after_create=True)
            with pytest.raises(wan_i2v.CreateOutcomeUnknownError):
                wan_client.create(image=image, prompt="p")
            assert wan_sandbox.state.tasks_created == 1
        """,
    )
    result.assert_outcomes(passed=3)


def test_money_test_as_a_user_writes_it(user_project: pytest.Pytester) -> None:
    """The README's money test passes as written: a 5xx (or a dropped line) after create is
    raised as CreateOutcomeUnknownError with exactly one task, read with stats(); the same
    counters over HTTP; and a pipeline that retries the create itself is caught billing
    twice."""
    result = run(
        user_project,
        """
        import httpx
        import pytest
        import wan_i2v

        def my_pipeline(client, image):
            return client.generate(image=image, prompt="p", output="out.mp4")

        def careless_pipeline(client, image):
            for _ in range(3):  # "retry on any error": the vendor tools' habit
                try:
                    return client.create(image=image, prompt="p")
                except wan_i2v.WanI2VError:
                    pass

        @pytest.mark.parametrize("status", [503, "drop"])
        def test_a_5xx_after_create_is_never_paid_twice(wan_client, wan_sandbox, image, status):
            wan_sandbox.inject(status, operation="create", after_create=True)
            with pytest.raises(wan_i2v.CreateOutcomeUnknownError):
                my_pipeline(wan_client, image)
            assert wan_sandbox.stats()["tasks_created"] == 1
            over_http = httpx.get(wan_sandbox.url + "/_sandbox/stats").json()
            assert over_http["tasks_created"] == 1

        def test_the_careless_pipeline_is_caught(wan_client, wan_sandbox, image):
            wan_sandbox.inject(503, operation="create", after_create=True, count=2)
            careless_pipeline(wan_client, image)
            assert wan_sandbox.stats()["tasks_created"] == 3

        @pytest.mark.wan_sandbox(max_running=1, task_seconds=30)
        def test_knobs_are_marker_fields(wan_client, wan_sandbox, image):
            wan_client.create(image=image, prompt="p")
            with pytest.raises(wan_i2v.RateLimitError):
                wan_sandbox_client = wan_i2v.Client(
                    base_url=wan_sandbox.url, api_key="k", max_retries=0
                )
                with wan_sandbox_client:
                    wan_sandbox_client.create(image=image, prompt="p")
            assert wan_sandbox.stats()["requests"]["create"] == {"202": 1, "429": 1}
        """,
    )
    result.assert_outcomes(passed=4)


def test_async_client_fixture(user_project: pytest.Pytester) -> None:
    """wan_async_client works from the test's own event loop (here asyncio.run, no asyncio
    plugin), and leaves no unclosed socket behind (warnings are errors in the inner run)."""
    result = run(
        user_project,
        """
        import asyncio
        import gc
        import wan_i2v

        def test_async(wan_async_client, wan_sandbox, image, tmp_path):
            assert isinstance(wan_async_client, wan_i2v.AsyncClient)

            async def main():
                out = await wan_async_client.generate(
                    image=image, prompt="p", output=tmp_path / "v.mp4"
                )
                await wan_async_client.get(
                    (await wan_async_client.create(image=image, prompt="p")).id
                )
                return out

            assert asyncio.run(main()).stat().st_size > 0
            assert wan_sandbox.state.tasks_created == 2

        def test_after(wan_async_client):
            gc.collect()  # an unclosed transport from the test before would warn here
        """,
    )
    result.assert_outcomes(passed=2)


def test_missing_extra_fails_with_the_install_command(user_project: pytest.Pytester) -> None:
    """Without the sandbox's dependencies the fixture fails naming the extra to install, and
    tests that do not use the fixtures still pass."""
    user_project.makeconftest(
        IMAGE_HELPER
        + textwrap.dedent(
            """
            import sys

            @pytest.fixture(autouse=True)
            def _no_sandbox(monkeypatch):
                monkeypatch.setitem(sys.modules, "wan_i2v.sandbox", None)
            """
        )
    )
    result = run(
        user_project,
        """
        def test_uses_it(wan_sandbox):
            pass

        def test_does_not():
            pass
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert 'pip install "wan-i2v[testing]"' in output
    assert "During handling" not in output  # one clear message, no chained traceback


def test_loading_the_plugin_does_not_import_the_sandbox() -> None:
    """pytest loads the plugin in every environment with wan-i2v: loading it must not need the
    sandbox's dependencies (uvicorn, Starlette)."""
    code = (
        "import sys, wan_i2v.pytest_plugin; "
        "print(sorted(m for m in ('uvicorn', 'starlette', 'wan_i2v.sandbox') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    """The installed package registers the plugin (pytest11), so its fixtures are listed in a
    project that names no plugin."""
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["*wan_sandbox*", "*wan_client*", "*wan_async_client*"])
