from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_body_task_info import ErrorBodyTaskInfo


T = TypeVar("T", bound="ErrorBody")


@_attrs_define
class ErrorBody:
    """An error answer (D13): the message is in one of `detail`, `error` or `message` (a
    string, an object or a list: FastAPI-style servers send a list of problems), or in
    `task_info.error`. A body with none of them is not a documented error. Servers may
    add keys that name the refused field (`field`, `errors[].field`, `loc`); they are
    allowed, not required. Clients must also survive a body that is not JSON at all (an
    HTML 502 from a proxy); a contract check counts that as drift.

        Attributes:
            detail (Any | Unset):
            error (Any | Unset):
            message (Any | Unset):
            task_info (ErrorBodyTaskInfo | Unset):
    """

    detail: Any | Unset = UNSET
    error: Any | Unset = UNSET
    message: Any | Unset = UNSET
    task_info: ErrorBodyTaskInfo | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        error = self.error

        message = self.message

        task_info: dict[str, Any] | Unset = UNSET
        if not isinstance(self.task_info, Unset):
            task_info = self.task_info.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if detail is not UNSET:
            field_dict["detail"] = detail
        if error is not UNSET:
            field_dict["error"] = error
        if message is not UNSET:
            field_dict["message"] = message
        if task_info is not UNSET:
            field_dict["task_info"] = task_info

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_body_task_info import ErrorBodyTaskInfo

        d = dict(src_dict)
        detail = d.pop("detail", UNSET)

        error = d.pop("error", UNSET)

        message = d.pop("message", UNSET)

        _task_info = d.pop("task_info", UNSET)
        task_info: ErrorBodyTaskInfo | Unset
        if isinstance(_task_info, Unset):
            task_info = UNSET
        else:
            task_info = ErrorBodyTaskInfo.from_dict(_task_info)

        error_body = cls(
            detail=detail,
            error=error,
            message=message,
            task_info=task_info,
        )

        error_body.additional_properties = d
        return error_body

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
