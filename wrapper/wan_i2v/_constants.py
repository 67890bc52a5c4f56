"""Named defaults and documented limits.

The limits restate spec/openapi.yaml so that `import wan_i2v` does not parse YAML;
tests/test_constants.py fails when the two disagree, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Final

# Endpoints and configuration (shared/reference/mulerouter-facts.md, "Hosts and configuration").
SITES: Final = {
    "mulerouter": "https://api.mulerouter.ai",
    "mulerun": "https://api.mulerun.com",
}
DEFAULT_SITE: Final = "mulerouter"
ENV_API_KEY: Final = "MULEROUTER_API_KEY"
ENV_BASE_URL: Final = "MULEROUTER_BASE_URL"
ENV_SITE: Final = "MULEROUTER_SITE"
ENV_PREFIX: Final = "MULEROUTER_"
DOTENV_FILE: Final = ".env"
DOTENV_MAX_BYTES: Final = 1_000_000  # a .env is a few lines; more is not one
DOTENV_FIFO_SECONDS: Final = 5.0  # a .env served through a FIFO (secret managers) must finish

# Documented constraints of the create request (spec/openapi.yaml, CreateGenerationTaskRequest).
PROMPT_MAX_CHARS: Final = 800
NEGATIVE_PROMPT_MAX_CHARS: Final = 500
RESOLUTIONS: Final = ("480P", "1080P")
DEFAULT_RESOLUTION: Final = "1080P"
DURATIONS: Final = (5,)
DEFAULT_DURATION: Final = 5
DEFAULT_PROMPT_EXTEND: Final = True
SEED_MIN: Final = 0
SEED_MAX: Final = 2_147_483_647

# Image requirements (spec: x-image-*; the byte limit is decided in spec/DECISIONS.md, D4).
IMAGE_MIN_SIDE: Final = 360
IMAGE_MAX_SIDE: Final = 2000
IMAGE_MAX_BYTES: Final = 10_000_000
IMAGE_FORMATS: Final = ("jpeg", "png", "bmp", "webp")

# Network behaviour.
DEFAULT_TIMEOUT: Final = 60.0  # seconds, per HTTP request (a 10 MB upload must fit in it)
DEFAULT_MAX_RETRIES: Final = 3
RETRY_WAIT_INITIAL: Final = 0.5  # seconds before the first retry, doubled each time
RETRY_WAIT_MAX: Final = 20.0  # cap of the exponential backoff
RETRY_WAIT_JITTER: Final = 1.0
RETRY_AFTER_CAP: Final = 60.0  # a server's Retry-After is honoured up to this many seconds
RETRYABLE_GET_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_MAX_VIDEO_BYTES: Final = 500_000_000  # a 5 s video is a few MB; a hostile host no more

# Polling (wait()): the vendor's tools poll every 20 s fixed; we start fast and back off.
POLL_FIRST_DELAY: Final = 2.0
POLL_GROWTH: Final = 1.5
POLL_MAX_DELAY: Final = 12.0
POLL_JITTER: Final = 0.1  # +-10 % so that many waiting clients do not poll in step
POLL_MIN_DELAY: Final = 0.5  # a poll_interval below this is raised to it (and logged)
DEFAULT_WAIT_TIMEOUT: Final = 900.0  # 15 minutes, as the vendor's tools

# Status words, both documented vocabularies (spec: TaskInfo.status x-known-values).
PENDING_STATUSES: Final = frozenset({"pending", "queued"})
RUNNING_STATUSES: Final = frozenset({"processing", "running", "retrying"})
SUCCESS_STATUSES: Final = frozenset({"completed", "succeeded"})
FAILURE_STATUSES: Final = frozenset({"failed"})

DEFAULT_DOWNLOAD_TIMEOUT: Final = 600.0  # seconds for a whole download, retries included
