# Copyright (c) ltplug contributors. All rights reserved.
"""Helpers shared by ``tools/train.py`` and ``tools/test.py``."""
import os
import os.path as osp
from copy import deepcopy
from typing import Iterable

from mmengine.config import Config, ConfigDict

__all__ = [
    'set_default_dataloader_cfg', 'default_work_dir', 'set_local_rank',
    'finish_distributed'
]


def set_default_dataloader_cfg(cfg: Config,
                               fields: Iterable[str],
                               no_pin_memory: bool = False,
                               no_persistent_workers: bool = False,
                               persistent_workers: bool = True) -> None:
    """Fill MMPretrain's dataloader defaults under the config's own values.

    Args:
        cfg (Config): The config, changed in place.
        fields (Iterable[str]): Dataloader keys, e.g. ``train_dataloader``.
        no_pin_memory (bool): Force ``pin_memory=False``. Defaults to False.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
            Defaults to False.
        persistent_workers (bool): Default of ``persistent_workers`` (it is
            dropped for loaders with ``num_workers=0``). Defaults to True.
    """
    defaults = ConfigDict(pin_memory=True, collate_fn=dict(type='default_collate'))
    if persistent_workers:
        defaults.persistent_workers = True
    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = deepcopy(defaults)
        loader.update(cfg[field])
        if no_pin_memory:
            loader['pin_memory'] = False
        if no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader.pop('persistent_workers', None)
        cfg[field] = loader


def default_work_dir(cfg: Config, config_path: str, work_dir=None) -> str:
    """CLI ``--work-dir`` > ``cfg.work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def set_local_rank(local_rank: int) -> None:
    """Export ``LOCAL_RANK`` from ``--local-rank`` when a launcher did not."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def finish_distributed() -> None:
    """Tear the process group down before the interpreter exits.

    Left to interpreter shutdown, gloo's worker threads can be destroyed
    while still joinable, which aborts the process (``terminate called
    without an active exception``, SIGABRT) after all work is done, and
    ``torchrun`` then reports the run as failed. A barrier first makes sure
    no rank is still communicating.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
