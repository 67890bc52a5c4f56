from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskError")


@_attrs_define
class TaskError:
    """Why a task failed. Codes 3001-3005: the upstream model provider failed; 4002 and 4008:
    MuleRouter-side errors. One page names the code `error_code`: clients accept both (D10).

        Attributes:
            code (int | Unset):
            error_code (int | Unset):
            title (str | Unset):
            detail (str | Unset):
    """

    code: int | Unset = UNSET
    error_code: int | Unset = UNSET
    title: str | Unset = UNSET
    detail: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        error_code = self.error_code

        title = self.title

        detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if code is not UNSET:
            field_dict["code"] = code
        if error_code is not UNSET:
            field_dict["error_code"] = error_code
        if title is not UNSET:
            field_dict["title"] = title
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = d.pop("code", UNSET)

        error_code = d.pop("error_code", UNSET)

        title = d.pop("title", UNSET)

        detail = d.pop("detail", UNSET)

        task_error = cls(
            code=code,
            error_code=error_code,
            title=title,
            detail=detail,
        )

        task_error.additional_properties = d
        return task_error

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
