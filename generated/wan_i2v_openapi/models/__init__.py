"""Contains all the data models used in inputs/outputs"""

from .create_generation_task_request import CreateGenerationTaskRequest
from .create_generation_task_request_resolution import CreateGenerationTaskRequestResolution
from .error_body import ErrorBody
from .error_body_task_info import ErrorBodyTaskInfo
from .task_error import TaskError
from .task_info import TaskInfo
from .task_response import TaskResponse

__all__ = (
    "CreateGenerationTaskRequest",
    "CreateGenerationTaskRequestResolution",
    "ErrorBody",
    "ErrorBodyTaskInfo",
    "TaskError",
    "TaskInfo",
    "TaskResponse",
)
