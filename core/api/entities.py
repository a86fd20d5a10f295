"""API conventions shared by the endpoints of synced entities (connections, saved queries,
history, chats): strict input serializers, optimistic concurrency, list query parameters.

Optimistic concurrency: a client may send the version it last read, as `If-Match: 42` (or the
ETag form `If-Match: "42"`) or as `expected_version` in the body; an update or delete of a row
whose version differs is refused with 409 `stale_version`. Reads return `ETag: "<version>"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import ApplicationError

IF_MATCH_DESCRIPTION = (
    "The version you last read (or its ETag). A different current version is refused with "
    "409 stale_version."
)


class StrictInput(serializers.Serializer[dict[str, Any]]):
    """An input serializer that refuses keys it does not declare (a typo is a 400, not a field
    silently ignored)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        value: dict[str, Any] = super().to_internal_value(data)  # an OrderedDict of the fields
        return value


class ZonedDateTimeField(serializers.DateTimeField):
    """RFC 3339 with a zone: a naive time is refused (DRF would assume the server's zone, while
    sync clients must say theirs)."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError("Give a time zone (e.g. Z or +02:00).")
        return super().to_internal_value(value)


def invalid_param(name: str, message: str) -> ApplicationError:
    return ApplicationError(
        "Some query parameters are invalid.", code="validation_error", fields={name: [message]}
    )


def expected_version(request: Request, body_value: int | None = None) -> int | None:
    """The version the client expects, from `If-Match` or the body (they must agree)."""
    header = request.headers.get("If-Match")
    from_header: int | None = None
    if header is not None:
        text = header.strip()
        if text.startswith("W/"):
            text = text[2:]
        text = text.strip('"')
        if text == "*":
            from_header = None
        elif text.isdigit():
            from_header = int(text)
        else:
            raise invalid_param("If-Match", "must be a version number.")
    if from_header is not None and body_value is not None and from_header != body_value:
        raise invalid_param("expected_version", "differs from the If-Match header.")
    return from_header if from_header is not None else body_value


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response


def bool_param(request: Request, name: str) -> bool | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise invalid_param(name, "must be true or false.")


def datetime_param(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise invalid_param(name, "must be an RFC 3339 time with a zone.")
    return parsed


def uuid_param(request: Request, name: str) -> str | None:
    import uuid

    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_param(name, "must be a UUID.") from None


def text_param(request: Request, name: str, *, max_length: int = 200) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if len(value) > max_length or "\x00" in value:
        raise invalid_param(name, f"must be at most {max_length} characters.")
    return value


def ordering_param(request: Request, allowed: Sequence[str], default: str) -> str:
    value = request.query_params.get("ordering") or default
    if value not in allowed:
        raise invalid_param("ordering", "must be one of " + ", ".join(allowed) + ".")
    return value


_pages: dict[type, type] = {}


def page_of(item: type[serializers.BaseSerializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The schema of a cursor-paginated list of `item` (`{next, previous, results}`)."""
    page = _pages.get(item)
    if page is None:
        name = item.__name__.removesuffix("Output")
        page = type(
            f"{name}Page",
            (serializers.Serializer,),
            {
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": item(many=True),
                "__module__": item.__module__,
            },
        )
        _pages[item] = page
    return page
