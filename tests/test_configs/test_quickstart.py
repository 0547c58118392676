# Copyright (c) ltplug contributors. All rights reserved.
"""The newcomer quickstart: tools/misc/prepare_fashion_mnist.py and the
Fashion-MNIST-LT CE / Balanced Softmax configs (a shortened run on the real
data when Debian's dataset-fashion-mnist is installed)."""
import gzip
import json
import os
import os.path as osp
import struct
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.helpers import ROOT, cfg_options, run_tool

sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import prepare_fashion_mnist as prep  # noqa: E402

sys.path.remove(osp.join(ROOT, 'tools', 'misc'))

SYSTEM_SRC = '/usr/share/datasets/fashion-mnist'
CE_QS = 'configs/ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py'
BS_QS = ('configs/balanced_softmax/'
         'balanced-softmax_resnet20_1xb128-10e_fashion-mnist-lt.py')

# Skipped on a developer's machine without the Debian package; never in CI
# (CI=true), whose .ci/run installs it: there a missing package fails.
needs_fashion_mnist = pytest.mark.skipif(
    not osp.isdir(SYSTEM_SRC) and os.environ.get('CI') != 'true',
    reason=f'{SYSTEM_SRC} absent (apt-get install -y dataset-fashion-mnist)')


def write_gz(path: str, magic: int, dims, payload: bytes) -> None:
    with gzip.open(path, 'wb') as f:
        f.write(struct.pack('>i', magic))
        f.write(struct.pack(f'>{len(dims)}i', *dims))
        f.write(payload)


def fake_src(folder, labels_payload=None, dims_override=None):
    """Four well-formed (all-black) Fashion-MNIST .gz files."""
    os.makedirs(folder, exist_ok=True)
    for name, (magic, dims) in prep.FILES.items():
        if dims_override and name in dims_override:
            dims = dims_override[name]
        n = int(np.prod(dims))
        if len(dims) == 1:
            payload = labels_payload if labels_payload is not None else \
                bytes((np.arange(n) % 10).astype(np.uint8))
        else:
            payload = bytes(n)
        write_gz(osp.join(folder, f'{name}.gz'), magic, dims, payload)
    return str(folder)


def test_missing_source_names_the_package(tmp_path, capsys):
    rc = prep.main(['--src', str(tmp_path / 'nope'), '--dst',
                    str(tmp_path / 'out')])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'nope' in err and 'dataset-fashion-mnist' in err


def test_missing_file_is_named(tmp_path):
    src = fake_src(tmp_path / 'src')
    os.remove(osp.join(src, 't10k-labels-idx1-ubyte.gz'))
    with pytest.raises(prep.PrepareError, match='t10k-labels-idx1-ubyte.gz'):
        prep.prepare(src, str(tmp_path / 'out'), quiet=True)


def test_prepare_fake_files_then_keep(tmp_path, capsys):
    src = fake_src(tmp_path / 'src')
    dst = str(tmp_path / 'out')
    paths = prep.prepare(src, dst)
    assert sorted(osp.basename(p) for p in paths) == sorted(prep.FILES)
    # 16-byte header + 60000 * 28 * 28 pixels
    assert osp.getsize(osp.join(dst, 'train-images-idx3-ubyte')) == \
        16 + 60000 * 784
    out = capsys.readouterr().out
    assert '[1/4]' in out and '[4/4]' in out
    prep.prepare(src, dst)
    assert out.count('kept') == 0
    assert capsys.readouterr().out.count('already prepared, kept') == 4


def test_wrong_shape_is_reported(tmp_path):
    src = fake_src(
        tmp_path / 'src',
        dims_override={'t10k-images-idx3-ubyte': (10000, 32, 32)})
    with pytest.raises(prep.PrepareError,
                       match=r't10k-images-idx3-ubyte.*\(10000, 32, 32\)'):
        prep.prepare(src, str(tmp_path / 'out'), quiet=True)
    # nothing half-written is left behind
    assert not osp.exists(tmp_path / 'out' / 't10k-images-idx3-ubyte')
    assert not osp.exists(tmp_path / 'out' / 't10k-images-idx3-ubyte.part')


def test_truncated_gzip_is_reported(tmp_path):
    src = fake_src(tmp_path / 'src')
    gz = osp.join(src, 'train-labels-idx1-ubyte.gz')
    data = open(gz, 'rb').read()
    with open(gz, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(prep.PrepareError,
                       match='train-labels-idx1-ubyte.gz: cannot decompress'):
        prep.prepare(src, str(tmp_path / 'out'), quiet=True)


def test_unbalanced_labels_are_reported(tmp_path):
    labels = bytes(np.zeros(60000, dtype=np.uint8))  # all class 0
    src = fake_src(tmp_path / 'src', labels_payload=labels)
    with pytest.raises(prep.PrepareError, match='labels per class'):
        prep.prepare(src, str(tmp_path / 'out'), quiet=True)


def test_quickstart_configs():
    init_default_scope('mmpretrain')
    ce = Config.fromfile(osp.join(ROOT, CE_QS))
    bs = Config.fromfile(osp.join(ROOT, BS_QS))
    assert ce.model.backbone == dict(type='CIFARResNet', depth=20,
                                     in_channels=1)
    assert ce.data_preprocessor.mean == [72.94]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        lt = ce[key].dataset
        assert lt.type == 'LongTailSubset' and lt.imbalance_ratio == 100.
        assert lt.n_max == 1000
        assert lt.dataset.type == 'FashionMNIST'
        assert lt.dataset.download is False
    assert ce.val_dataloader.dataset.subsample is False
    # MMPretrain's MNIST picks the test files by test_mode
    assert ce.val_dataloader.dataset.dataset.test_mode is True
    assert ce.train_cfg.max_epochs == 10
    assert bs.model.head.loss == dict(type='BalancedSoftmaxLoss', tau=1.0)
    bs.model.head.loss = ce.model.head.loss
    assert bs.model == ce.model


@needs_fashion_mnist
def test_quickstart_trains_and_prints_the_table(tmp_path):
    """The CE quickstart, shortened: 1 epoch on the real Fashion-MNIST-LT
    with the head class at 100 images, tested on the first 200 test
    images; it must end with the many / medium / few table."""
    data = str(tmp_path / 'fashion_mnist')
    proc = run_tool(['tools/misc/prepare_fashion_mnist.py', '--dst', data],
                    timeout=120)
    assert 'Fashion-MNIST ready' in proc.stdout
    work = str(tmp_path / 'work')
    opts = {
        'train_dataloader.batch_size': 64,
        'train_dataloader.dataset.n_max': 100,
        'train_dataloader.dataset.dataset.data_root': data,
        'val_dataloader.dataset.n_max': 100,
        'val_dataloader.dataset.dataset.data_root': data,
        'val_dataloader.dataset.dataset.indices': 200,
        'test_dataloader.dataset.dataset.data_root': data,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
    }
    proc = run_tool(['tools/train.py', CE_QS, '--work-dir', work] +
                    cfg_options(opts), timeout=300)
    log = proc.stdout
    assert 'Epoch(train) [1][4/4]' in log, log[-3000:]
    assert 'loss:' in log
    # ratio 100 from 100: 100, 59, 35, 21, 12, 7, 4, 2, 1, 1 (by hand) ->
    # many (> 100) 0, medium 4, few 6
    table = log[log.index('| acc (%)') - 200:]
    assert '|  many | medium |' in table or 'many' in table
    classes_row = [ln for ln in table.splitlines()
                   if ln.startswith('| classes')][0]
    cells = [c.strip() for c in classes_row.strip('|').split('|')]
    assert cells == ['classes', '10', '10', '0', '4', '6']
    runs = [d for d in os.listdir(work) if osp.isdir(osp.join(work, d))]
    js = [osp.join(work, d, 'per_class_accuracy.json') for d in runs]
    js = [p for p in js if osp.isfile(p)]
    assert len(js) == 1
    payload = json.load(open(js[0]))
    assert [r['train_count'] for r in payload['per_class']] == \
        [100, 59, 35, 21, 12, 7, 4, 2, 1, 1]
    assert sum(r['num_test'] for r in payload['per_class']) == 200
