"""wan_i2v: the Python client for MuleRouter's Wan2.2 image-to-video API (wan2.2-i2v-plus).

    with wan_i2v.Client() as client:          # key from MULEROUTER_API_KEY
        path = client.generate(image="cat.png", prompt="The cat turns its head")
"""

from ._async_client import AsyncClient
from ._client import Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    CreateOutcomeUnknownError,
    DownloadError,
    InternalServerError,
    NotFoundError,
    OutputExistsError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    UnprocessableEntityError,
    ValidationError,
    WaitTimeoutError,
    WanI2VError,
)
from ._images import ImageInput
from ._task import Phase, Task, TaskError
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "CreateOutcomeUnknownError",
    "DownloadError",
    "ImageInput",
    "InternalServerError",
    "NotFoundError",
    "OutputExistsError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Phase",
    "RateLimitError",
    "Task",
    "TaskError",
    "TaskFailedError",
    "UnprocessableEntityError",
    "ValidationError",
    "WaitTimeoutError",
    "WanI2VError",
    "__version__",
]
