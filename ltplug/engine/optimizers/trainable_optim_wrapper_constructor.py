# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, List, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's constructor with the trainable parameters only, in as few
    parameter groups as the settings allow.

    MMEngine's default puts every parameter in the optimizer when
    ``paramwise_cfg`` is empty, frozen ones (teachers, EMA key encoders)
    included, and one group per tensor as soon as ``paramwise_cfg`` is set,
    which keeps ``torch.optim.SGD`` off its multi-tensor (``foreach``) path.
    This constructor applies the same ``paramwise_cfg`` rules (so each
    parameter gets the same lr and weight decay as with the default),
    leaves out every parameter with ``requires_grad=False``, and merges
    the groups whose settings are equal (after filling in the optimizer's
    defaults), keeping the parameters' order.

    Args:
        optim_wrapper_cfg (dict): As :class:`DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict, optional): As
            :class:`DefaultOptimWrapperConstructor`. Defaults to None.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if not self.paramwise_cfg:
            # an empty paramwise_cfg makes the default skip add_params (and
            # take model.parameters(), frozen ones included): this key's
            # default value changes no rule
            self.paramwise_cfg = dict(bypass_duplicate=False)

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', is_dcn_module=None) -> None:
        """Add the groups of ``module`` (the default rules), merged.

        Args:
            params (list[dict]): The groups so far; extended in place.
            module (nn.Module): The module whose parameters to add.
            prefix (str): The module's name prefix. Defaults to ``''``.
            is_dcn_module (int | float | None): As in MMEngine. Defaults to
                None.
        """
        if prefix:  # MMEngine's recursion: one group per tensor
            super().add_params(params, module, prefix, is_dcn_module)
            return
        single: List[dict] = []
        super().add_params(single, module, prefix, is_dcn_module)
        defaults = {k: v for k, v in self.optimizer_cfg.items()
                    if k != 'type'}
        merged: Dict[str, dict] = {}
        for group in single:
            settings = {**defaults, **group}
            settings.pop('params')
            key = repr(sorted(settings.items()))
            if key not in merged:
                merged[key] = dict(group, params=[])
                params.append(merged[key])
            merged[key]['params'].extend(group['params'])
