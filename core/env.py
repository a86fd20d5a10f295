"""Typed readers for environment variables that fail loudly.

Every setting the service reads from the environment goes through one of these helpers so a
missing or malformed value stops the process at start-up with a message that names the variable,
instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Final, TypeVar, overload

from django.core.exceptions import ImproperlyConfigured


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Final = _Missing()

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value if value != "" else None


def _missing(name: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name} is required but not set.")


@overload
def env_str(
    name: str, default: str | _Missing = ..., *, environ: Mapping[str, str] | None = None
) -> str: ...
@overload
def env_str(
    name: str, default: None, *, environ: Mapping[str, str] | None = None
) -> str | None: ...
def env_str(
    name: str,
    default: str | _Missing | None = REQUIRED,
    *,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return default
    return value


def env_bool(
    name: str, default: bool | _Missing = REQUIRED, *, environ: Mapping[str, str] | None = None
) -> bool:
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name} must be a boolean (true/false, 1/0, yes/no, on/off); "
        f"got {value!r}."
    )


def env_int(
    name: str,
    default: int | _Missing = REQUIRED,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return default
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be an integer; got {value!r}."
        ) from None
    if min_value is not None and number < min_value:
        raise ImproperlyConfigured(f"Environment variable {name} must be >= {min_value}.")
    if max_value is not None and number > max_value:
        raise ImproperlyConfigured(f"Environment variable {name} must be <= {max_value}.")
    return number


def env_float(
    name: str, default: float | _Missing = REQUIRED, *, environ: Mapping[str, str] | None = None
) -> float:
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a number; got {value!r}."
        ) from None


def env_list(
    name: str, default: list[str] | _Missing = REQUIRED, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str,
    choices: tuple[str, ...],
    default: str | _Missing = REQUIRED,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be one of {', '.join(choices)}; got {value!r}."
        )
    return str(value)


def env_json(
    name: str, default: Any = REQUIRED, *, environ: Mapping[str, str] | None = None
) -> Any:
    value = _raw(name, environ)
    if value is None:
        if isinstance(default, _Missing):
            raise _missing(name)
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be valid JSON ({exc.msg} at position {exc.pos})."
        ) from None


@overload
def env_url(
    name: str,
    default: str | _Missing = ...,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str: ...
@overload
def env_url(
    name: str,
    default: None,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None: ...
def env_url(
    name: str,
    default: str | _Missing | None = REQUIRED,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    from urllib.parse import urlsplit

    value = env_str(name, default, environ=environ)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        # Never echo the URL: it may hold a password.
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a URL with scheme {' or '.join(schemes)}."
        )
    return value
