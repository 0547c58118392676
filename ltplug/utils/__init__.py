# Copyright (c) ltplug contributors. All rights reserved.
"""Stack fixes and guards (one table: :mod:`ltplug.utils.compat`), safe and
strict checkpoint loading, atomic writes and small validation helpers."""
from .atomic_save import patch_mmengine_atomic_save
from .checkpoint import (CheckpointReadError, UnsafeCheckpointError,
                         allowed_checkpoint_global, checkpoint_format,
                         load_checkpoint_safely, load_from_local_safely,
                         register_safe_local_loader)
from .compat import (PATCHES, CompatPatch, active_patches, patch_status,
                     setup_compat)
from .dist_compat import patch_mmengine_cpu_distributed
from .image_compat import patch_mmcv_adjust_hue
from .inference_compat import patch_mmpretrain_inferencer
from .package_compat import patch_mmengine_package_utils
from .strict_load import (CheckpointMismatchError, load_state_dict_checked,
                          patch_runner_strict_load)
from .strict_pretrained import patch_pretrained_init_strict

__all__ = [
    'UnsafeCheckpointError', 'CheckpointReadError', 'checkpoint_format',
    'allowed_checkpoint_global',
    'load_checkpoint_safely', 'load_from_local_safely',
    'register_safe_local_loader', 'patch_mmengine_cpu_distributed',
    'patch_mmengine_package_utils', 'patch_mmcv_adjust_hue',
    'patch_mmpretrain_inferencer',
    'CheckpointMismatchError', 'load_state_dict_checked',
    'patch_runner_strict_load', 'patch_pretrained_init_strict',
    'patch_mmengine_atomic_save', 'setup_compat', 'active_patches',
    'patch_status', 'PATCHES', 'CompatPatch'
]
