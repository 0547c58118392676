# Copyright (c) ltplug contributors. All rights reserved.
"""No silent wrong result (issue 18): every bad input of README's
bad-input table stops with a message that names it.

One test runs every case of :data:`tests.support.bad_input_cases.CASES`:
the input must raise (nothing exits 0 with a result), the exception is
ltplug's or a builtin (not torch's or numpy's: it is the last line a shell
shows), and its message matches the case's pattern, which names the bad
value or file. The last test checks that README's table and the cases list
the same ids."""
import os.path as osp
import re
import traceback

import pytest
import torch

from tests.support.bad_input_cases import CASES, Ctx, World, resolve_errors

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TABLE_HEADER = re.compile(r'^\|\s*id\s*\|\s*bad input\s*\|\s*what the user '
                          r'sees\s*\|\s*$')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    return World(str(tmp_path_factory.mktemp('bad_input')))


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] \
            if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


def test_case_ids_are_unique_and_stable():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r'[a-z0-9]+(-[a-z0-9]+)*', i) for i in ids)
    assert sum(c.error is not None for c in CASES) >= 30


@pytest.mark.parametrize('case', _params())
def test_bad_input(case, world, tmp_path, monkeypatch):
    ctx = Ctx(world=world, tmp=str(tmp_path), monkeypatch=monkeypatch)
    errors = resolve_errors(case.error)
    if not errors:  # accepted on purpose: the trigger checks the result
        case.trigger(ctx)
        return
    try:
        result = case.trigger(ctx)
    except BaseException as e:  # noqa: B902 - what the user would see
        err = e
    else:
        pytest.fail(f'{case.id}: no error; it returned {result!r}')
    # the exception raised last (outermost of a chain) is what a shell shows
    # as its last line
    module = type(err).__module__
    last_line = traceback.format_exception_only(type(err), err)[-1]
    assert not module.startswith(('torch', 'numpy')), last_line
    # ... and it is not torch's or numpy's own error passed through
    # (``IndexError: Target 3 is out of bounds`` is a builtin type)
    raised_in = traceback.extract_tb(err.__traceback__)[-1].filename
    assert not re.search(r'[/\\](torch|numpy)[/\\]', raised_in), (
        f'{case.id}: raised inside {raised_in}: {last_line}')
    assert isinstance(err, errors), (
        f'{case.id}: expected {errors}, got '
        f'{"".join(traceback.format_exception(err))}')
    pattern = case.match.format(
        **{k: re.escape(v) for k, v in ctx.vars.items()})
    msg = str(err)
    assert re.search(pattern, msg), (
        f'{case.id}: message does not match\n  {pattern}\n  got: {msg}')
    if case.after is not None:
        case.after(ctx)


def _readme_rows():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if TABLE_HEADER.match(line)]
    assert len(starts) == 1, (
        "README.md needs one table with the header '| id | bad input | "
        "what the user sees |'")
    section = [line for line in lines[:starts[0]] if line.startswith('## ')]
    assert section and section[-1].strip() == '## Guarantees', (
        'the bad-input table belongs in README\'s Guarantees section')
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in
                 re.split(r'(?<!\\)\|', line.strip().strip('|'))]
        rows.append(cells)
    return rows


def test_readme_table_lists_every_case():
    """README's bad-input table and :data:`CASES` cannot drift: every case
    has a row, every row a case, each row three cells."""
    rows = _readme_rows()
    ids = [r[0].strip('`') for r in rows]
    assert all(len(r) >= 3 and r[1] and r[2] for r in rows), rows
    assert len(ids) == len(set(ids)), 'an id appears twice in README'
    cases = {c.id for c in CASES}
    assert sorted(cases - set(ids)) == [], 'cases without a README row'
    assert sorted(set(ids) - cases) == [], 'README rows without a case'
