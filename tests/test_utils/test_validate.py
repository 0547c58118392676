# Copyright (c) ltplug contributors. All rights reserved.
"""``check_number``: the one type / range check of numeric arguments."""
import numpy as np
import pytest

from ltplug.utils.validate import check_number


@pytest.mark.parametrize('value,expected', [
    (3, 3.0), (2.5, 2.5), (np.int64(4), 4.0), (np.float32(0.5), 0.5),
    (-1e300, -1e300)])
def test_numbers_pass_as_python_floats(value, expected):
    out = check_number('x', value)
    assert out == expected and type(out) is float


@pytest.mark.parametrize('value', [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_integers_pass_as_python_ints(value):
    out = check_number('n', value, integer=True)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize('value', [True, False, np.bool_(True)])
@pytest.mark.parametrize('integer', [True, False])
def test_bool_is_not_a_number(value, integer):
    with pytest.raises(TypeError, match=r'^n must be .* but got .*bool'):
        check_number('n', value, integer=integer)


def test_string_names_argument_value_and_the_quoting():
    with pytest.raises(TypeError) as e:
        check_number('imbalance_ratio', '100', owner='CIFAR10LT')
    msg = str(e.value)
    assert msg.startswith("CIFAR10LT: imbalance_ratio must be a number, but "
                          "got '100' (str)"), msg
    assert msg.endswith('a quoted value in a config or in --cfg-options is '
                        'a string: write imbalance_ratio=100 without quotes')


@pytest.mark.parametrize('value', [2.0, 2.5, np.float64(2.0), '2', [2], None])
def test_integer_refuses_non_integers(value):
    with pytest.raises(TypeError, match='must be an int, but got'):
        check_number('num_classes', value, integer=True)


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -np.inf])
def test_non_finite_refused(value):
    with pytest.raises(ValueError, match='tau must be a finite number'):
        check_number('tau', value)


def test_bounds():
    assert check_number('k', 1, integer=True, min=1) == 1
    with pytest.raises(ValueError, match=r'^k must be >= 1, but got 0$'):
        check_number('k', 0, integer=True, min=1)
    with pytest.raises(ValueError, match=r'^t must be > 0, but got 0.0$'):
        check_number('t', 0, min=0, min_inclusive=False)
    assert check_number('p', 1, max=1) == 1.0
    with pytest.raises(ValueError, match=r'^p must be <= 1, but got 1.5$'):
        check_number('p', 1.5, max=1)
    with pytest.raises(ValueError, match=r'^p must be < 1, but got 1.0$'):
        check_number('p', 1, max=1, max_inclusive=False)


def test_none():
    assert check_number('m', None, allow_none=True) is None
    with pytest.raises(TypeError, match=r'^m must be a number, but got None'):
        check_number('m', None)
    with pytest.raises(TypeError, match='must be an int or None'):
        check_number('m', 'x', integer=True, allow_none=True)


def test_check_bool():
    from ltplug.utils.validate import check_bool
    assert check_bool('flag', True) is True
    assert check_bool('flag', np.bool_(False)) is False
    with pytest.raises(TypeError) as e:
        check_bool('inclusive', 'False', owner='ShotAccuracy')
    assert str(e.value) == (
        "ShotAccuracy: inclusive must be True or False, but got 'False' "
        '(str); a quoted value in a config or in --cfg-options is a string: '
        'write inclusive=False without quotes')
    for bad in (0, 1, None, 1.0):
        with pytest.raises(TypeError, match='must be True or False'):
            check_bool('flag', bad)
