# Copyright (c) ltplug contributors. All rights reserved.
"""Argument checks shared by the ltplug transforms (messages name the
transform and quote the bad value)."""
from typing import Any, Sequence

__all__ = ['check_positive_int', 'check_choice']


def check_positive_int(owner: str, name: str, value: Any) -> int:
    """Check that ``value`` is a positive ``int``; return it.

    Args:
        owner (str): The transform, put in front of the message.
        name (str): The argument's name.
        value (Any): The value to check.

    Returns:
        int: ``value``.

    Raises:
        ValueError: ``value`` is not an ``int`` or is ``<= 0``.
    """
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f'{owner}: {name} must be a positive int, but got '
                         f'{value!r}')
    return value


def check_choice(owner: str, name: str, value: Any,
                 choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``; return it.

    Args:
        owner (str): The transform, put in front of the message.
        name (str): The argument's name.
        value (Any): The value to check.
        choices (Sequence[str]): The accepted values (quoted in the
            message as given, e.g. a tuple).

    Returns:
        str: ``value``.

    Raises:
        ValueError: ``value`` is not in ``choices``.
    """
    if value not in choices:
        raise ValueError(f'{owner}: {name} must be one of {choices}, but got '
                         f'{value!r}')
    return value
