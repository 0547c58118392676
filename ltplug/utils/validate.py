# Copyright (c) ltplug contributors. All rights reserved.
"""Type and range checks of the numbers given to ltplug's constructors.

Numbers reach the constructors from configs and from ``--cfg-options``,
where a quoted value (``imbalance_ratio='100'``) arrives as a string and
``True`` is an int to Python. :func:`check_number` refuses both with a
message that names the argument and quotes the value, instead of letting a
later numpy or torch call fail far from the cause (``TypeError: ufunc
'isfinite' not supported``) or, worse, compute with the wrong value.
"""
import math
import numbers
from typing import Any, Optional, Union

import numpy as np

__all__ = ['check_number', 'check_bool']



def check_number(name: str,
                 value: Any,
                 *,
                 integer: bool = False,
                 min: Optional[float] = None,
                 max: Optional[float] = None,
                 min_inclusive: bool = True,
                 max_inclusive: bool = True,
                 allow_none: bool = False,
                 owner: Optional[str] = None) -> Union[int, float, None]:
    """Check that ``value`` is a finite number in range; return it.

    Python and numpy numbers pass (``np.int64(3)``, ``np.float32(0.5)``);
    ``bool`` never does (``True`` is not a count), nor do strings, ``nan``
    or infinities. With ``integer=True`` only integers pass (``2.0`` does
    not: a float where an int is expected usually means a wrong key or a
    formula that went wrong).

    Args:
        name (str): The argument's name, quoted in the error.
        value (Any): The value to check.
        integer (bool): Require an integer. Defaults to False.
        min (float, optional): Lower bound. Defaults to None (none).
        max (float, optional): Upper bound. Defaults to None (none).
        min_inclusive (bool): Whether ``min`` itself is allowed.
            Defaults to True.
        max_inclusive (bool): Whether ``max`` itself is allowed.
            Defaults to True.
        allow_none (bool): Accept (and return) None. Defaults to False.
        owner (str, optional): The class or function taking the argument,
            put in front of the message (``'KDLoss: temperature ...'``).
            Defaults to None.

    Returns:
        int | float | None: ``value`` as a Python ``int`` (``integer=True``)
        or ``float``; None only with ``allow_none``.

    Raises:
        TypeError: ``value`` is not a number (or not an integer with
            ``integer=True``); the message names ``name`` and quotes
            ``value`` and its type.
        ValueError: ``value`` is ``nan``, infinite or out of range.
    """
    where = f'{owner}: ' if owner else ''
    kind = 'an int' if integer else 'a number'
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, numbers.Real if not integer else numbers.Integral):
        hint = (f'; a quoted value in a config or in --cfg-options is a '
                f'string: write {name}={value.strip()} without quotes'
                if isinstance(value, str) else '')
        none = ' or None' if allow_none else ''
        raise TypeError(f'{where}{name} must be {kind}{none}, but got '
                        f'{value!r} ({type(value).__name__}){hint}')
    value = int(value) if integer else float(value)
    if not integer and not math.isfinite(value):
        raise ValueError(f'{where}{name} must be a finite number, but got '
                         f'{value!r}')
    if min is not None and (value < min or
                            (not min_inclusive and value == min)):
        op = '>=' if min_inclusive else '>'
        raise ValueError(
            f'{where}{name} must be {op} {min}, but got {value!r}')
    if max is not None and (value > max or
                            (not max_inclusive and value == max)):
        op = '<=' if max_inclusive else '<'
        raise ValueError(
            f'{where}{name} must be {op} {max}, but got {value!r}')
    return value


def check_bool(name: str, value: Any, *, owner: Optional[str] = None) -> bool:
    """Check that ``value`` is a bool (or a numpy bool); return it.

    A quoted ``'False'`` from a config or ``--cfg-options`` is a non-empty
    string, i.e. true to ``bool()``: taking it as a flag would silently do
    the opposite of what was asked.

    Args:
        name (str): The argument's name, quoted in the error.
        value (Any): The value to check.
        owner (str, optional): The class or function taking the argument.
            Defaults to None.

    Returns:
        bool: ``value`` as a Python bool.

    Raises:
        TypeError: ``value`` is not a bool (``0`` / ``1`` included).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    where = f'{owner}: ' if owner else ''
    hint = (f'; a quoted value in a config or in --cfg-options is a string: '
            f'write {name}={value.strip()} without quotes'
            if isinstance(value, str) else '')
    raise TypeError(f'{where}{name} must be True or False, but got '
                    f'{value!r} ({type(value).__name__}){hint}')
