# Copyright (c) ltplug contributors. All rights reserved.
"""The pure functions that show and save a ShotAccuracy result: the text
table, the rule title, the per-class rows, the JSON document and its
one-line-per-class atomic writer."""
import json
import logging
import os.path as osp

import numpy as np
import pytest
from mmengine.logging import MMLogger

from ltplug.evaluation.report import (current_log_dir, format_shot_table,
                                      group_sizes, per_class_rows,
                                      shot_payload, shot_rule_title,
                                      write_per_class_json)


def cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def test_format_shot_table_layout():
    text = format_shot_table(
        dict(top1=71.234, top5=98.1, many=80.0, medium=40.556,
             few=float('nan')),
        dict(many=8, medium=2, few=0), title='T')
    lines = text.splitlines()
    assert lines[0] == 'T'
    rows = [ln for ln in lines if ln.startswith('|')]
    assert cells(rows[0]) == ['', 'top1', 'top5', 'many', 'medium', 'few']
    # 2 decimals, '-' for the empty group
    assert cells(rows[1]) == ['acc (%)', '71.23', '98.10', '80.00', '40.56',
                              '-']
    # top-k columns count every class (8 + 2 + 0)
    assert cells(rows[2]) == ['classes', '10', '10', '8', '2', '0']
    # a box: every line has the same width
    assert len({len(ln) for ln in lines[1:]}) == 1


def test_shot_rule_title():
    assert shot_rule_title('ShotAccuracy', 'shot', 100, 20, False) == (
        'ShotAccuracy (shot): many = train count > 100, few = train count '
        '< 20, medium otherwise')
    assert 'many = train count >= 100, few = train count <= 20' in \
        shot_rule_title('ShotAccuracy', 'ncl', 100, 20, True)


# 4 classes: many {0}, medium {1, 2}, few {3}; class 2 has no test sample
PER_CLASS = dict(
    acc=np.array([75.0, 50.0, np.nan, 0.0]),
    num_test=np.array([4, 2, 0, 1]),
    many=np.array([True, False, False, False]),
    medium=np.array([False, True, True, False]),
    few=np.array([False, False, False, True]))
COUNTS = [300, 50, 40, 3]


def test_group_sizes():
    assert group_sizes(PER_CLASS) == dict(many=1, medium=2, few=1)


def test_per_class_rows():
    rows = per_class_rows(PER_CLASS, COUNTS, classes=['a', 'b', 'c'])
    assert rows[0] == dict(label=0, name='a', train_count=300, group='many',
                           num_test=4, top1=75.0)
    assert [r['group'] for r in rows] == ['many', 'medium', 'medium', 'few']
    assert rows[2]['top1'] is None and rows[2]['num_test'] == 0
    # a class without a name is called by its index
    assert rows[3]['name'] == '3'
    assert [r['name'] for r in per_class_rows(PER_CLASS, COUNTS)] == [
        '0', '1', '2', '3']
    assert all(type(r['train_count']) is int for r in rows)


def test_shot_payload():
    summary = dict(top1=60.0, many=75.0, medium=50.0, few=float('nan'))
    payload = shot_payload('ShotAccuracy', 'shot',
                           dict(many_thr=100, few_thr=20, inclusive=False),
                           summary, PER_CLASS, COUNTS)
    assert list(payload) == ['metric', 'prefix', 'rule', 'group_sizes',
                             'summary', 'per_class']
    assert payload['metric'] == 'ShotAccuracy'
    assert payload['rule'] == dict(many_thr=100, few_thr=20, inclusive=False)
    assert payload['summary'] == dict(top1=60.0, many=75.0, medium=50.0,
                                      few=None)
    assert payload['group_sizes'] == dict(many=1, medium=2, few=1)
    assert len(payload['per_class']) == 4


def test_write_per_class_json_one_line_per_class(tmp_path):
    payload = dict(metric='M', summary=dict(top1=1.5),
                   per_class=[dict(label=0), dict(label=1, top1=None)])
    path = osp.join(tmp_path, 'sub', 'out.json')  # the folder is created
    write_per_class_json(path, payload)
    text = open(path).read()
    assert json.loads(text) == payload
    lines = text.splitlines()
    assert lines[1:3] == ['{"label": 0},', '{"label": 1, "top1": null}']
    assert len(lines) == 4
    assert len(payload['per_class']) == 2  # the payload is left as it was
    # only per_class
    write_per_class_json(path, dict(per_class=[dict(label=0)]))
    assert json.load(open(path)) == dict(per_class=[dict(label=0)])
    with pytest.raises(ValueError, match=r"last key.*\['per_class', 'x'\]"):
        write_per_class_json(path, dict(per_class=[], x=1))


def test_current_log_dir(tmp_path):
    logger = MMLogger.get_instance('report_log_dir_test',
                                   log_file=osp.join(tmp_path, 'r.log'))
    try:
        assert current_log_dir() == str(tmp_path)
    finally:
        for h in list(logger.handlers):
            h.close()
            logger.removeHandler(h)
    MMLogger.get_instance('report_no_file_test')
    assert not any(isinstance(h, logging.FileHandler)
                   for h in MMLogger.get_current_instance().handlers)
    assert current_log_dir() is None
