# Copyright (c) ltplug contributors. All rights reserved.
"""The strict ``path label`` list parser: real official lists, every bad
input named by ``file:line``, and a fuzz test against a reference parser
written independently from the format's description."""
import os
import os.path as osp
import re
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltplug.datasets import parse_list_file, parse_list_lines
from ltplug.evaluation.functional import shot_groups

# name: (images, classes, min per class, max per class)
REAL_LISTS = {
    'Places_LT_train.txt': (62500, 365, 5, 4980),
    'Places_LT_val.txt': (7300, 365, 20, 20),
    'Places_LT_test.txt': (36500, 365, 100, 100),
    'ImageNet_LT_val.txt': (20000, 1000, 20, 20),
    'ImageNet_LT_test.txt': (50000, 1000, 50, 50),
    'iNaturalist18_val.txt': (24426, 8142, 3, 3),
}


def write(tmp_path, content, name='list.txt'):
    path = osp.join(str(tmp_path), name)
    mode = 'wb' if isinstance(content, bytes) else 'w'
    with open(path, mode) as f:
        f.write(content)
    return path


@pytest.mark.parametrize('name', sorted(REAL_LISTS))
def test_real_lists(lt_lists_dir, name):
    size, num_classes, lo, hi = REAL_LISTS[name]
    path = osp.join(lt_lists_dir, name)
    paths, labels, lines = parse_list_file(path, num_classes)
    with open(path, 'rb') as f:
        raw = f.read()
    # one image per line, every line an image
    assert len(paths) == raw.count(b'\n') == size
    assert lines == list(range(1, size + 1))
    counts = np.bincount(labels, minlength=num_classes)
    assert counts.size == num_classes and counts.sum() == size
    assert counts.min() == lo and counts.max() == hi
    # spot-check against the raw first / last lines
    first = raw.split(b'\n')[0].decode().split(' ')
    last = raw.rstrip(b'\n').split(b'\n')[-1].decode().split(' ')
    assert (paths[0], int(labels[0])) == (first[0], int(first[1]))
    assert (paths[-1], int(labels[-1])) == (last[0], int(last[1]))
    assert all(' ' not in p and p.count('/') >= 2 for p in paths[:100])


def test_places_lt_train_shot_groups(lt_lists_dir):
    _, labels, _ = parse_list_file(
        osp.join(lt_lists_dir, 'Places_LT_train.txt'), 365)
    groups = shot_groups(np.bincount(labels, minlength=365))
    # published split of Places-LT (ALGORITHMS.md §1.3)
    assert [int(groups[g].sum()) for g in ('many', 'medium', 'few')] == \
        [131, 163, 71]


def test_label_range_checked_on_real_list(lt_lists_dir):
    # the Places-LT labels go up to 364: 364 classes are too few
    with pytest.raises(ValueError, match=r'Places_LT_test\.txt:36401: label '
                       r'364 is out of range for num_classes=364'):
        parse_list_file(osp.join(lt_lists_dir, 'Places_LT_test.txt'), 364)


def test_blank_lines_crlf_tabs_and_inner_spaces(tmp_path):
    path = write(
        tmp_path, b'a/x.jpg 0\r\n\r\n  \t\n\tb/y z.jpg \t 2 \r\nc.png\t1\n\n')
    paths, labels, lines = parse_list_file(path, 3)
    assert paths == ['a/x.jpg', 'b/y z.jpg', 'c.png']
    assert labels.tolist() == [0, 2, 1]
    assert labels.dtype == np.int64
    assert lines == [1, 4, 5]


def test_empty_list(tmp_path):
    paths, labels, lines = parse_list_file(write(tmp_path, ''), 3)
    assert paths == [] and labels.size == 0 and lines == []


@pytest.mark.parametrize('bad_line,message', [
    ('justapath.jpg', r"expected '<path> <label>'"),
    ('7', r"expected '<path> <label>'"),
    ('a.jpg x', r"label 'x' is not an integer"),
    ('a.jpg 1.5', r"label '1.5' is not an integer"),
    ('a.jpg 1e3', r"label '1e3' is not an integer"),
    ('a.jpg +1', r"label '\+1' is not an integer"),
    ('a.jpg \uff13', r'is not an integer'),  # full-width digit 3
    ('a.jpg 0x1', r'is not an integer'),
    ('a.jpg 5', r'label 5 is out of range for num_classes=5'),
    ('a.jpg -1', r'label -1 is out of range'),
    ('a\x00b.jpg 1', r"control character '\\x00'"),
    ('a.jpg\x0b 1', r"control character '\\x0b'"),
    ('a.jpg 1\r\r', r"control character '\\r'"),
])
def test_bad_line_named_by_file_and_line(tmp_path, bad_line, message):
    path = write(tmp_path, f'ok/1.jpg 0\n\nok/2.jpg 4\n{bad_line}\nok 1\n')
    with pytest.raises(ValueError) as info:
        parse_list_file(path, 5)
    text = str(info.value)
    assert text.startswith(f'{path}:4: ')
    assert re.search(message, text), text


def test_bad_utf8_named(tmp_path):
    path = write(tmp_path, b'a.jpg 0\nb\xff\xfe.jpg 1\n')
    with pytest.raises(ValueError, match=r'list\.txt:2: line is not valid '
                       r'UTF-8'):
        parse_list_file(path, 2)


def test_long_bad_line_is_shortened(tmp_path):
    path = write(tmp_path, 'x' * 5000 + '\n')
    with pytest.raises(ValueError) as info:
        parse_list_file(path, 2)
    assert len(str(info.value)) < 400 and '...' in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        parse_list_file(osp.join(str(tmp_path), 'nope.txt'), 2)


@pytest.mark.parametrize('num_classes,error', [(0, ValueError),
                                               (-1, ValueError),
                                               (2.5, TypeError),
                                               (True, TypeError),
                                               ('3', TypeError)])
def test_bad_num_classes(num_classes, error):
    with pytest.raises(error, match=f'num_classes .* but got '
                       f'{re.escape(repr(num_classes))}'):
        parse_list_lines(['a 0'], num_classes)


CANONICAL = 'a/x.jpg 0\nb/y z.jpg 2\nc.png 1\n'


@pytest.mark.parametrize('variant', [
    pytest.param(b'\xef\xbb\xbf' + CANONICAL.encode(), id='utf8-bom'),
    pytest.param(CANONICAL.replace('\n', '\r\n').encode(), id='crlf'),
    pytest.param(b'\xef\xbb\xbf' + CANONICAL.replace('\n', '\r\n').encode(),
                 id='bom+crlf'),
    pytest.param(CANONICAL.replace('\n', '  \t\n').encode(),
                 id='trailing-blanks'),
    pytest.param(('\n\n' + CANONICAL.replace('\n', '\n \n') + '\n').encode(),
                 id='blank-lines'),
    pytest.param(CANONICAL.replace('.jpg ', '.jpg\t').replace(
        '.png ', '.png\t').encode(), id='tabs'),
    pytest.param(CANONICAL.rstrip('\n').encode(), id='no-final-newline'),
])
def test_lists_written_by_other_tools_parse_as_the_same_list(
        tmp_path, variant):
    """Excel / Notepad / pandas / editors' variants of one list give the
    same images and labels (a UTF-8 BOM made line 1's path start with
    '\\ufeff', i.e. a missing image)."""
    paths, labels, _ = parse_list_file(write(tmp_path, variant), 3)
    assert paths == ['a/x.jpg', 'b/y z.jpg', 'c.png']
    assert labels.tolist() == [0, 2, 1]
    # the lines API (str and bytes) agrees
    text = variant.decode('utf-8')
    for lines in (text.split('\n'), variant.split(b'\n')):
        got, lab, _ = parse_list_lines(lines, 3)
        assert got == paths and lab.tolist() == [0, 2, 1]


def test_bom_only_at_the_start(tmp_path):
    # a BOM inside the file is a character of that path, not a mark
    paths, _, _ = parse_list_file(
        write(tmp_path, 'a.jpg 0\n\ufeffb.jpg 1\n'), 2)
    assert paths == ['a.jpg', '\ufeffb.jpg']


@pytest.mark.parametrize('encoding', ['utf-16', 'utf-16-be'])
def test_utf16_list_refused_with_one_error(tmp_path, encoding):
    data = CANONICAL.encode(encoding)
    if encoding == 'utf-16-be':
        data = b'\xfe\xff' + data
    path = write(tmp_path, data)
    with pytest.raises(ValueError, match=r'list\.txt is UTF-16 encoded.*save '
                       r'the list as UTF-8'):
        parse_list_file(path, 3)


def test_lines_without_num_classes():
    paths, labels, _ = parse_list_lines(['a 0', b'b 12'], source='mem')
    assert paths == ['a', 'b'] and labels.tolist() == [0, 12]
    with pytest.raises(ValueError, match=r'^mem:1: label -3 is out of range'):
        parse_list_lines(['a -3'], source='mem')


# ---------------------------------------------------------------- fuzzing
DIGITS = set('0123456789')
BLANKS = ' \t'


def reference(line, num_classes, first=False):
    """Independent reading of the documented format: None for a line with
    no image, ``(path, label)`` for a valid line, 'error' otherwise."""
    if isinstance(line, bytes):
        try:
            line = line.decode('utf-8')
        except UnicodeDecodeError:
            return 'error'
    if first and line[:1] == '\ufeff':
        line = line[1:]
    if line[-1:] == '\r':
        line = line[:-1]
    if all(ch in BLANKS for ch in line):
        return None
    if any((ord(ch) < 32 and ch != '\t') or ord(ch) == 127 for ch in line):
        return 'error'
    core = line.strip(BLANKS)
    # the label is the characters after the last blank
    i = len(core)
    while i > 0 and core[i - 1] not in BLANKS:
        i -= 1
    if i == 0:
        return 'error'
    label, path = core[i:], core[:i].rstrip(BLANKS)
    digits = label[1:] if label.startswith('-') else label
    if not digits or any(ch not in DIGITS for ch in digits):
        return 'error'
    value = int(label)
    if not 0 <= value < num_classes:
        return 'error'
    return path, value


path_chars = st.characters(
    blacklist_categories=('Cc', 'Cs'), blacklist_characters=' \t')
garbage_line = st.one_of(
    st.text(st.characters(blacklist_characters='\n'), max_size=20),
    st.text(st.sampled_from(list('ab 01+-\t\r.\x00\x0b\x7f\u00a0\uff11/')),
            max_size=12),
    st.binary(max_size=12).filter(lambda b: b'\n' not in b))


@st.composite
def list_lines(draw):
    """``(lines, num_classes)``: mostly valid lines (labels mostly in
    range), sometimes blank ones, and at most a couple of garbage lines."""
    num_classes = draw(st.integers(1, 50))
    in_range = st.integers(0, num_classes - 1)
    label = st.one_of(*[in_range] * 9, st.sampled_from(
        [-1, num_classes, num_classes + 7]))
    # mostly canonical integers, sometimes near misses
    label_text = st.one_of(*[label.map(str)] * 12, st.sampled_from(
        ['+1', '1.0', '1e0', '\u0663', '1_0', '0x1', '-0', '007', '',
         '\uff11']))
    valid = st.builds(
        lambda lead, path, inner, sep, lab, trail, cr: (
            lead + path + inner + sep + lab + trail + cr),
        st.sampled_from(['', ' ', '\t', ' \t ']),
        st.text(path_chars, min_size=1, max_size=12),
        st.sampled_from(['', ' more.jpg', '\tx y']),
        st.sampled_from([' ', '\t', '  ', ' \t']),
        label_text,
        st.sampled_from(['', ' ', '\t ']),
        st.sampled_from(['', '\r']))
    blank = st.sampled_from(['', ' ', '\t', '\r', ' \r'])
    lines = draw(st.lists(st.one_of(valid, valid, valid, blank), max_size=15))
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2]))):
        lines.insert(draw(st.integers(0, len(lines))), draw(garbage_line))
    return lines, num_classes


@settings(max_examples=200, deadline=None)
@given(case=list_lines())
def test_fuzz_parser_against_reference(case):
    lines, num_classes = case
    as_bytes = [ln if isinstance(ln, bytes) else ln.encode('utf-8')
                for ln in lines]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'fuzz.txt')
        with open(path, 'wb') as f:
            f.write(b'\n'.join(as_bytes))
        expected = [reference(ln, num_classes, i == 0)
                    for i, ln in enumerate(as_bytes)]
        bad = [i for i, e in enumerate(expected, 1) if e == 'error']
        try:
            paths, labels, line_nos = parse_list_file(path, num_classes)
        except ValueError as e:
            # only the documented error, at the first bad line
            assert bad, f'unexpected error: {e}'
            assert str(e).startswith(f'{path}:{bad[0]}: '), str(e)
            return
        assert not bad, f'line {bad[0]} accepted: {as_bytes[bad[0] - 1]!r}'
        good = [(i, e) for i, e in enumerate(expected, 1) if e is not None]
        assert line_nos == [i for i, _ in good]
        assert paths == [e[0] for _, e in good]
        assert labels.tolist() == [e[1] for _, e in good]
        # the counts the datasets derive from the labels
        counts = np.bincount(labels, minlength=num_classes)
        for c in range(num_classes):
            assert counts[c] == sum(1 for _, e in good if e[1] == c)


@settings(max_examples=200, deadline=None)
@given(case=list_lines())
def test_fuzz_lines_api_agrees(case):
    """``parse_list_lines`` on str/bytes lines: ValueError or the reference
    result, never another exception."""
    lines, num_classes = case
    expected = [reference(ln, num_classes, i == 0)
                for i, ln in enumerate(lines)]
    try:
        paths, labels, _ = parse_list_lines(lines, num_classes, source='m')
    except ValueError as e:
        first_bad = expected.index('error') + 1
        assert str(e).startswith(f'm:{first_bad}: ')
        return
    good = [e for e in expected if e is not None]
    assert 'error' not in expected
    assert list(zip(paths, labels.tolist())) == good
