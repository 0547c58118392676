# Copyright (c) ltplug contributors. All rights reserved.
"""tools/misc/check_dataset.py on a tiny ``LTListDataset`` the test writes
(JPEGs incl. a truncated and a missing one, lists, a config), and on a tiny
in-memory dataset wrapped in ``LongTailSubset``."""
import textwrap

import numpy as np
import pytest
from PIL import Image

from tests.helpers import load_script, run_tool

TOOL = 'tools/misc/check_dataset.py'


def load_tool():
    return load_script(TOOL)


def write_config(path, data_root, train=None, val=None, num_classes=3):
    """A config with only the dataloaders (``train`` / ``val``: extra
    LTListDataset arguments as source text)."""
    text = textwrap.dedent(f'''
        custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)
        default_scope = 'mmpretrain'
        train_dataloader = dict(batch_size=2, dataset=dict(
            type='LTListDataset', data_root={str(data_root)!r},
            ann_file='train.txt', num_classes={num_classes},
            pipeline=[dict(type='LoadImageFromFile')]{train or ''}))
        val_dataloader = dict(batch_size=2, dataset=dict(
            type='LTListDataset', data_root={str(data_root)!r},
            ann_file='val.txt', num_classes={num_classes},
            class_counts_file='train.txt', pipeline=[]{val or ''}))
        test_dataloader = val_dataloader
        ''')
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture
def data(tmp_path):
    """train.txt: 6 JPEGs (counts 3 / 2 / 1), line 4 truncated, line 6 a
    missing file (line 3 blank); val.txt: 3 clean JPEGs."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'data'
    for c in range(3):
        (root / f'c{c}').mkdir(parents=True)

    def jpeg(rel):
        img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(img).save(root / rel, quality=90)

    for rel in ['c0/0.jpg', 'c0/1.jpg', 'c0/2.jpg', 'c1/0.jpg', 'c2/0.jpg',
                'c0/v.jpg', 'c1/v.jpg', 'c2/v.jpg']:
        jpeg(rel)
    raw = (root / 'c0/2.jpg').read_bytes()
    (root / 'c0/2.jpg').write_bytes(raw[:len(raw) // 2])  # truncated
    (root / 'train.txt').write_text(
        'c0/0.jpg 0\nc0/1.jpg 0\n\nc0/2.jpg 0\nc1/0.jpg 1\n'
        'c1/missing.jpg 1\nc2/0.jpg 2\n')
    (root / 'val.txt').write_text('c0/v.jpg 0\nc1/v.jpg 1\nc2/v.jpg 2\n')
    return root


def test_cli_names_bad_lines_and_exits_1(data, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', data)
    proc = run_tool([TOOL, cfg, '--split', 'train', '--workers', '2'],
                    check=False, timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out
    lst = data / 'train.txt'
    assert f'{lst}:4: {data}/c0/2.jpg: corrupt (' in out
    assert 'image file is truncated' in out
    assert f'{lst}:6: {data}/c1/missing.jpg: missing' in out
    # the good images are not reported, the progress bar reached the end
    assert f'{lst}:1:' not in out and f'{lst}:7:' not in out
    assert '6/6' in out
    # counts agree (own counts of the list): only the images are wrong
    assert "metainfo['class_counts'] matches" in out
    assert ('summary: 6 image files checked, 2 bad; 3 classes; training '
            'counts min 1 / max 3') in out
    assert 'FAILED: 2 bad image(s)' in out


def test_clean_split_exits_0(data, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', data)
    tool = load_tool()
    assert tool.main([cfg, '--split', 'val', '--workers', '1',
                      '--no-progress']) == 0
    # the train split of the same config is not clean
    assert tool.main([cfg, '--split', 'train', '--workers', '1',
                      '--no-progress']) == 1
    # the bad lines removed, it is
    (data / 'train.txt').write_text(
        'c0/0.jpg 0\nc0/1.jpg 0\nc1/0.jpg 1\nc2/0.jpg 2\n')
    assert tool.main([cfg, '--workers', '2', '--no-progress']) == 0


def test_given_class_counts_disagree_with_list(data, tmp_path, capsys):
    (data / 'train.txt').write_text(
        'c0/0.jpg 0\nc0/1.jpg 0\nc1/0.jpg 1\nc2/0.jpg 2\n')
    tool = load_tool()
    # right counts: OK; wrong ones (classes 0 and 2): named with both values
    good = write_config(tmp_path / 'good.py', data,
                        train=', class_counts=[2, 1, 1]')
    assert tool.main([good, '--no-progress', '--workers', '1']) == 0
    bad = write_config(tmp_path / 'bad.py', data,
                       train=', class_counts=[3, 1, 2]')
    capsys.readouterr()
    assert tool.main([bad, '--no-progress', '--workers', '1']) == 1
    out = capsys.readouterr().out
    assert ("disagrees with the labels of this split's list in 2 of 3 "
            'classes (exposed vs counted): class 0: 3 vs 2, class 2: 2 vs 1'
            ) in out
    assert 'FAILED: class counts disagree' in out
    # the same through --cfg-options
    assert tool.main([good, '--no-progress', '--workers', '1',
                      '--cfg-options',
                      'train_dataloader.dataset.class_counts=[2,2,1]']) == 1


def test_val_counts_file_must_be_the_train_list(data, tmp_path, capsys):
    (data / 'other.txt').write_text('c0/0.jpg 0\nc1/0.jpg 1\nc2/0.jpg 2\n')
    cfg = write_config(tmp_path / 'cfg.py', data)
    tool = load_tool()
    capsys.readouterr()
    assert tool.main([
        cfg, '--split', 'test', '--no-progress', '--workers', '1',
        '--cfg-options', 'test_dataloader.dataset.class_counts_file=other.txt'
    ]) == 1
    out = capsys.readouterr().out
    assert ('disagrees with the labels of the train split in 2 of 3 classes '
            '(exposed vs counted): class 0: 1 vs 3, class 1: 1 vs 2') in out
    # images were all fine
    assert 'summary: 3 image files checked, 0 bad' in out


def test_empty_train_class(data, tmp_path, capsys):
    (data / 'train.txt').write_text('c0/0.jpg 0\nc1/0.jpg 1\n')
    tool = load_tool()
    # accepted by the dataset (allow_empty_classes), refused by the check
    cfg = write_config(tmp_path / 'cfg.py', data, num_classes=4,
                       train=', allow_empty_classes=True')
    capsys.readouterr()
    assert tool.main([cfg, '--no-progress', '--workers', '1']) == 1
    out = capsys.readouterr().out
    assert 'no training image in 2 class(es): [2, 3]' in out
    # refused by the dataset itself: the build error is the report
    cfg = write_config(tmp_path / 'cfg2.py', data, num_classes=4)
    assert tool.main([cfg, '--no-progress', '--workers', '1']) == 1
    out = capsys.readouterr().out
    assert 'error: cannot build the train dataset: ValueError' in out
    assert 'zero training images' in out


def test_usage_errors(data, tmp_path):
    tool = load_tool()
    cfg = tmp_path / 'nodata.py'
    cfg.write_text("custom_imports = dict(imports=['ltplug'])\n"
                   'train_dataloader = None\n')
    assert tool.main([str(cfg)]) == 2
    assert tool.main([str(tmp_path / 'nowhere.py')]) == 2
    with pytest.raises(SystemExit):
        tool.main([str(cfg), '--workers', '0'])


TINY_ARRAYS = '''
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module(force=True)
class TinyArrays(BaseDataset):
    """8 / 4 / 2 in-memory 4 x 4 images of classes 0 / 1 / 2."""

    def __init__(self, **kwargs):
        super().__init__(ann_file='', metainfo=dict(classes=('a', 'b', 'c')),
                         **kwargs)

    def load_data_list(self):
        labels = [0] * 8 + [1] * 4 + [2] * 2
        return [dict(img=np.zeros((4, 4, 3), np.uint8), gt_label=c)
                for c in labels]
'''


def test_in_memory_dataset_counts_only(tmp_path, monkeypatch, capsys):
    (tmp_path / 'tiny_arrays_mod.py').write_text(TINY_ARRAYS)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['ltplug', 'tiny_arrays_mod'])
        default_scope = 'mmpretrain'
        train_dataloader = dict(dataset=dict(
            type='LongTailSubset', imbalance_ratio=4,
            dataset=dict(type='TinyArrays', pipeline=[])))
        test_dataloader = dict(dataset=dict(
            type='LongTailSubset', imbalance_ratio=4, n_max=8,
            subsample=False, dataset=dict(type='TinyArrays', pipeline=[])))
        '''))
    tool = load_tool()
    capsys.readouterr()
    assert tool.main([str(cfg), '--no-progress']) == 0
    out = capsys.readouterr().out
    assert 'no image files' in out
    # profile 8 / 4 / 2 at ratio 4
    assert ('summary: 0 image files checked, 0 bad; 3 classes; training '
            'counts min 2 / max 8') in out
    assert tool.main([str(cfg), '--split', 'test', '--no-progress']) == 0
    # a test subset whose n_max is not the train head count reports other
    # training counts than the train split has
    assert tool.main([str(cfg), '--split', 'test', '--no-progress',
                      '--cfg-options',
                      'test_dataloader.dataset.n_max=16']) == 1
    out = capsys.readouterr().out
    assert ('disagrees with the labels of the train split in 3 of 3 classes'
            ' (exposed vs counted): class 0: 16 vs 8, class 1: 8 vs 4, '
            'class 2: 4 vs 2') in out


def test_wrappers_are_looked_through(data, tmp_path, capsys):
    """RepeatDataset(LongTailSubset(LTListDataset)) and a ConcatDataset:
    each image is decoded once, the bad ones keep their list lines, and a
    subset's counts are those of the lines it keeps."""
    tool = load_tool()
    list_ds = (f"dict(type='LTListDataset', data_root={str(data)!r}, "
               "ann_file='train.txt', num_classes=3, pipeline=[])")
    cfg = tmp_path / 'wrapped.py'
    cfg.write_text(textwrap.dedent(f'''
        custom_imports = dict(imports=['ltplug'])
        default_scope = 'mmpretrain'
        train_dataloader = dict(dataset=dict(
            type='RepeatDataset', times=3, dataset=dict(
                type='LongTailSubset', imbalance_ratio=3, selection='first',
                dataset={list_ds})))
        val_dataloader = dict(dataset=dict(
            type='ConcatDataset', datasets=[{list_ds}, {list_ds}]))
        '''))
    capsys.readouterr()
    # the subset keeps 3 / 1 / 1 (first of each class): lines 1, 2, 4
    # (truncated), 5, 7; the missing image of line 6 is not in it
    assert tool.main([str(cfg), '--no-progress', '--workers', '1']) == 1
    out = capsys.readouterr().out
    assert f'{data / "train.txt"}:4: {data}/c0/2.jpg: corrupt' in out
    assert 'missing' not in out
    assert "metainfo['class_counts'] matches" in out
    assert 'summary: 5 image files checked, 1 bad' in out
    # both halves of the concatenation are decoded: the bad lines twice
    tool.main([str(cfg), '--split', 'val', '--no-progress', '--workers',
               '1'])
    out = capsys.readouterr().out
    assert out.count(f'{data / "train.txt"}:6: {data}/c1/missing.jpg: '
                     'missing') == 2
    assert 'summary: 12 image files checked, 4 bad' in out
