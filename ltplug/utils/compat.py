# Copyright (c) ltplug contributors. All rights reserved.
"""The stack fixes and guards that ``import ltplug`` installs, in one table.

:data:`PATCHES` lists each of them: its name, what it changes, why, the
upstream version that fixes it (or ``'not fixed upstream as of <version>'``,
or ``'ltplug guard'`` for ltplug behaviour that is no upstream bug) and its
stand-down test. :func:`setup_compat` (run by ``import ltplug``) installs
every patch whose test says the installed stack still needs it; the
implementations live in their own modules of :mod:`ltplug.utils`.

``LTPLUG_NO_PATCHES=1`` in the environment turns all of them off (for a
stack that brings its own fixes); ltplug's components are registered all
the same. :func:`active_patches` lists the installed ones,
:func:`patch_status` says for each why it is or is not installed.
"""
import importlib
import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

__all__ = [
    'CompatPatch', 'PATCHES', 'ENV_NO_PATCHES', 'setup_compat',
    'active_patches', 'patch_status', 'patches_disabled'
]

#: The environment variable that turns every patch off.
ENV_NO_PATCHES = 'LTPLUG_NO_PATCHES'

#: :func:`patch_status` values.
ACTIVE = 'active'
STOOD_DOWN = 'stood down'
DISABLED = f'off ({ENV_NO_PATCHES}=1)'


@dataclass(frozen=True)
class CompatPatch:
    """One stack fix or guard of :data:`PATCHES`.

    Args:
        name (str): Short name, as listed by :func:`active_patches`.
        changes (str): What it changes, upstream.
        why (str): The problem it solves.
        upstream (str): ``'fixed in <package> <version>'``, ``'not fixed
            upstream as of <package> <version>'`` or ``'ltplug guard'``.
        stand_down (str): When it is not installed, in words.
        needed (str): ``'module:function'`` in :mod:`ltplug.utils` of the
            stand-down test: True while the installed stack needs the patch.
        install (str): ``'module:function'`` in :mod:`ltplug.utils` that
            installs it (idempotent).
    """
    name: str
    changes: str
    why: str
    upstream: str
    stand_down: str
    needed: str
    install: str


#: The test of a guard: ltplug behaviour, wanted on every stack.
ALWAYS = 'compat:always'

PATCHES = (
    CompatPatch(
        'safe_local_loader',
        changes="MMEngine's CheckpointLoader scheme for local paths",
        why='torch >= 2.6 loads weights_only=True and refuses the '
        'checkpoints MMEngine writes; the usual workaround runs any pickle. '
        'The loader allow-lists data-only types and names bad files',
        upstream='ltplug guard (the torch >= 2.6 failure: not fixed '
        'upstream as of mmengine 0.10.7)',
        stand_down='never (a guard)',
        needed=ALWAYS,
        install='checkpoint:register_safe_local_loader'),
    CompatPatch(
        'strict_runner_load',
        changes='Runner.load_checkpoint and Runner.resume',
        why='MMEngine loads with strict=False: a checkpoint that does not '
        'fit is only logged and a half-loaded model trains or tests',
        upstream='ltplug guard',
        stand_down='never (a guard)',
        needed=ALWAYS,
        install='strict_load:patch_runner_strict_load'),
    CompatPatch(
        'strict_pretrained',
        changes="PretrainedInit (init_cfg=dict(type='Pretrained')) and "
        'BaseModule.init_weights',
        why='Pretrained loads with strict=False: a stage-two model of '
        'another depth or class count is half initialised',
        upstream='ltplug guard',
        stand_down='never (a guard)',
        needed=ALWAYS,
        install='strict_pretrained:patch_pretrained_init_strict'),
    CompatPatch(
        'atomic_save',
        changes='LocalBackend.put / put_text, the last_checkpoint write and '
        'the removals of CheckpointHook',
        why='a kill or a full disk during a save leaves a truncated file, '
        'and max_keep_ckpts deletes the old checkpoint first',
        upstream='not fixed upstream as of mmengine 0.10.7',
        stand_down="MMEngine's LocalBackend.put keeps a file's old content "
        'when the write fails',
        needed='atomic_save:upstream_put_truncates',
        install='atomic_save:patch_mmengine_atomic_save'),
    CompatPatch(
        'package_lookup',
        changes='mmengine.utils.package_utils (is_installed, '
        'get_installed_path, package2module)',
        why="`_base_ = 'mmpretrain::...'` needs pkg_resources, which "
        'setuptools >= 81 no longer ships',
        upstream='not fixed upstream as of mmengine 0.10.7',
        stand_down='pkg_resources imports',
        needed='package_compat:pkg_resources_missing',
        install='package_compat:patch_mmengine_package_utils'),
    CompatPatch(
        'cpu_distributed',
        changes='mmengine.dist.utils._init_dist_pytorch and '
        'Runner.wrap_model (only where no accelerator is found)',
        why='--launcher pytorch calls torch.cuda.set_device and builds DDP '
        'with device_ids, both fail without a GPU',
        upstream='not fixed upstream as of mmengine 0.10.7',
        stand_down="MMEngine's _init_dist_pytorch checks for CUDA before "
        'torch.cuda.set_device',
        needed='dist_compat:upstream_needs_accelerator',
        install='dist_compat:patch_mmengine_cpu_distributed'),
    CompatPatch(
        'hue_numpy2',
        changes='mmcv.adjust_hue (used by ColorJitter)',
        why='np.uint8 of a negative hue shift raises under numpy 2',
        upstream='not fixed upstream as of mmcv 2.2.0',
        stand_down="mmcv's own adjust_hue accepts a negative factor",
        needed='image_compat:_original_fails',
        install='image_compat:patch_mmcv_adjust_hue'),
    CompatPatch(
        'wrapped_inferencer',
        changes='ImageClassificationInferencer._init_pipeline (also: the '
        "checked loader removed, image channels matched to the model's)",
        why='the inferencer reads test_dataloader.dataset.pipeline, which '
        'dataset wrappers keep one level down',
        upstream='not fixed upstream as of mmpretrain 1.2.0',
        stand_down="MMPretrain's _init_pipeline finds a wrapped test "
        "dataset's pipeline",
        needed='inference_compat:upstream_misses_wrapped_pipeline',
        install='inference_compat:patch_mmpretrain_inferencer'),
)

#: name -> ACTIVE / STOOD_DOWN / DISABLED, as decided by setup_compat
_STATUS: Dict[str, str] = {}


def always() -> bool:
    """The stand-down test of a guard: always needed."""
    return True


def _resolve(ref: str) -> Callable:
    """``'module:function'`` in :mod:`ltplug.utils` -> the function, looked
    up at call time."""
    module, _, name = ref.partition(':')
    return getattr(importlib.import_module(f'{__package__}.{module}'), name)


def patches_disabled() -> bool:
    """Whether ``LTPLUG_NO_PATCHES`` turns every patch off.

    Returns:
        bool: True for ``1`` / ``true`` / ``yes`` / ``on``, False when
        unset or ``0`` / ``false`` / ``no`` / ``off`` / empty.

    Raises:
        ValueError: For any other value (it is quoted).
    """
    value = os.environ.get(ENV_NO_PATCHES, '').strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('', '0', 'false', 'no', 'off'):
        return False
    raise ValueError(f'{ENV_NO_PATCHES} must be 1 (no patches) or 0, but '
                     f'got {os.environ[ENV_NO_PATCHES]!r}')


def setup_compat(patches: Optional[Sequence[CompatPatch]] = None) -> None:
    """Install every patch of the table that the stack needs (idempotent).

    Called by ``import ltplug``. With ``LTPLUG_NO_PATCHES=1`` nothing is
    installed. A patch already installed is not tested again.

    Args:
        patches (Sequence[CompatPatch], optional): The patches to decide.
            Defaults to None (:data:`PATCHES`).
    """
    disabled = patches_disabled()
    for patch in PATCHES if patches is None else patches:
        if _STATUS.get(patch.name) == ACTIVE:
            continue
        if disabled:
            _STATUS[patch.name] = DISABLED
        elif _resolve(patch.needed)():
            _resolve(patch.install)()
            _STATUS[patch.name] = ACTIVE
        else:
            _STATUS[patch.name] = STOOD_DOWN


def active_patches() -> List[str]:
    """The names of the installed patches, in the table's order.

    Returns:
        list[str]: e.g. ``['safe_local_loader', ..., 'wrapped_inferencer']``.
    """
    return [p.name for p in PATCHES if _STATUS.get(p.name) == ACTIVE]


def patch_status() -> Dict[str, str]:
    """Each patch of the table and what :func:`setup_compat` decided.

    Returns:
        dict[str, str]: name -> ``'active'``, ``'stood down'`` (the stack
        does not need it), ``'off (LTPLUG_NO_PATCHES=1)'`` or ``'not
        decided'`` (before :func:`setup_compat`).
    """
    return {p.name: _STATUS.get(p.name, 'not decided') for p in PATCHES}
