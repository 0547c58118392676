# Copyright (c) ltplug contributors. All rights reserved.
"""``tools/quickstart.sh`` (the README's first command) runs through: it
prepares Fashion-MNIST from the ``*-ubyte.gz`` files, trains CE and Balanced
Softmax, prints both many / medium / few tables and saves the plot. Here on
synthetic, well-formed files and a shortened schedule (the real data is a
Debian package the tests must not install)."""
import os.path as osp

from tests.helpers import run_tool
from tests.test_configs.test_quickstart import fake_src


def test_quickstart_script(tmp_path):
    src = fake_src(tmp_path / 'src')
    work = tmp_path / 'work'
    out = run_tool(
        ['tools/quickstart.sh', str(work), '--cfg-options',
         'train_cfg.max_epochs=1', 'train_dataloader.dataset.max_per_class=8',
         'val_dataloader.dataset.max_per_class=4'],
        env={'FASHION_MNIST_SRC': src,
             'FASHION_MNIST_DATA': str(tmp_path / 'data')},
        timeout=400).stdout
    # both tables, after both trainings, then the plot
    tail = out[out.index('[quickstart] training balanced_softmax'):]
    ce, bs = tail.index('Cross-entropy\n+'), tail.index('Balanced Softmax\n+')
    assert ce < bs
    assert tail.count('| acc (%) |') >= 3  # BS's own log table + the two
    assert osp.getsize(work / 'per_class.png') > 0
    assert osp.isdir(tmp_path / "data")
