"""Named defaults of the client's own behaviour (network, polling, configuration).

The API's facts (fields, limits, status words, paths) are not restated here: they are
generated from spec/openapi.yaml into _spec_facts.py.
"""

from __future__ import annotations

from typing import Final

from ._spec_facts import CREATE_FIELDS, IMAGE_FIELDS

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

# The image limits, read off the spec's facts (every image field shares them: the spec gives
# `image` and `last_frame` the same x-image-* rules; _images checks against these).
_IMAGE_RULES = CREATE_FIELDS[IMAGE_FIELDS[0]].image
assert _IMAGE_RULES is not None
IMAGE_MIN_SIDE: Final = _IMAGE_RULES.min_side
IMAGE_MAX_SIDE: Final = _IMAGE_RULES.max_side
IMAGE_MAX_BYTES: Final = _IMAGE_RULES.max_bytes
IMAGE_FORMATS: Final = _IMAGE_RULES.formats

# Network behaviour.
DEFAULT_TIMEOUT: Final = 60.0  # seconds, per HTTP request (a 10 MB upload must fit in it)
DEFAULT_MAX_RETRIES: Final = 3
# Creates one client has in flight at once: enough to fill a link with 10 MB uploads, few
# enough that polls and downloads never starve behind them in the 100-connection pool.
DEFAULT_CONCURRENT_CREATES: Final = 8
RETRY_WAIT_INITIAL: Final = 0.5  # seconds before the first retry, doubled each time
RETRY_WAIT_MAX: Final = 20.0  # cap of the exponential backoff
RETRY_WAIT_JITTER: Final = 1.0
RETRY_AFTER_CAP: Final = 60.0  # a server's Retry-After is honoured up to this many seconds
DEFAULT_MAX_VIDEO_BYTES: Final = 500_000_000  # a 5 s video is a few MB; a hostile host no more

# Polling (wait()): the vendor's tools poll every 20 s fixed; we start fast and back off.
POLL_FIRST_DELAY: Final = 2.0
POLL_GROWTH: Final = 1.5
POLL_MAX_DELAY: Final = 12.0
POLL_JITTER: Final = 0.1  # +-10 % so that many waiting clients do not poll in step
POLL_MIN_DELAY: Final = 0.5  # a poll_interval below this is raised to it (and logged)
DEFAULT_WAIT_TIMEOUT: Final = 900.0  # 15 minutes, as the vendor's tools

DEFAULT_DOWNLOAD_TIMEOUT: Final = 600.0  # seconds for a whole download, retries included
