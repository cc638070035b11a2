"""Dataclass configs to and from JSON-able dicts.

Configs are frozen dataclasses (style.md); on disk they are JSON only. Tuples become lists in JSON and
are turned back into tuples from the field's type hint, nested dataclasses are rebuilt recursively, and
an unknown key is an error that names it (a typo in a config must not be silently ignored).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from cosmos.core.errors import CheckpointError

__all__ = ["config_to_dict", "config_from_dict"]

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Convert a (possibly nested) dataclass instance to a JSON-serialisable dict.

    Tuples become lists; nested dataclasses become dicts; other values are kept as they are.

    Raises:
        TypeError: ``config`` is not a dataclass instance.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")
    return {field.name: _to_json(getattr(config, field.name)) for field in dataclasses.fields(config)}


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    return value


def config_from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build the dataclass ``cls`` from a dict made by :func:`config_to_dict` (or written by hand).

    Lists are converted back to tuples where the field's type says tuple; dict values of dataclass-typed
    fields are rebuilt recursively. Missing keys take the field defaults.

    Raises:
        CheckpointError: ``data`` holds keys that ``cls`` has no field for (they are listed), or a
            required field is missing.
    """
    if not isinstance(data, dict):
        raise CheckpointError(f"config for {cls.__name__} must be a dict, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise CheckpointError(f"config for {cls.__name__} has unknown keys {unknown}; known keys: {sorted(names)}")
    kwargs = {name: _from_json(hints.get(name, Any), value) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise CheckpointError(f"cannot build {cls.__name__} from config: {error}") from error


def _from_json(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            converted = _from_json(arg, value)
            if converted is not value or not isinstance(value, (list, dict)):
                return converted
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return config_from_dict(hint, value)
    if isinstance(value, list):
        if origin is tuple or hint is tuple:
            args = typing.get_args(hint)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_from_json(args[0], item) for item in value)
            if args and len(args) == len(value):
                return tuple(_from_json(arg, item) for arg, item in zip(args, value))
            return tuple(_from_json(Any, item) for item in value)
        if origin is list:
            (arg,) = typing.get_args(hint) or (Any,)
            return [_from_json(arg, item) for item in value]
        return value
    return value
