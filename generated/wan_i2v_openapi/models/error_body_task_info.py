from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_error import TaskError


T = TypeVar("T", bound="ErrorBodyTaskInfo")


@_attrs_define
class ErrorBodyTaskInfo:
    """
    Attributes:
        error (TaskError | Unset): Why a task failed. Codes 3001-3005: the upstream model provider failed; 4002 and
            4008:
            MuleRouter-side errors. One page names the code `error_code`: clients accept both (D10).
    """

    error: TaskError | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] | Unset = UNSET
        if not isinstance(self.error, Unset):
            error = self.error.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_error import TaskError

        d = dict(src_dict)
        _error = d.pop("error", UNSET)
        error: TaskError | Unset
        if isinstance(_error, Unset):
            error = UNSET
        else:
            error = TaskError.from_dict(_error)

        error_body_task_info = cls(
            error=error,
        )

        error_body_task_info.additional_properties = d
        return error_body_task_info

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
