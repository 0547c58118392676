# Copyright (c) ltplug contributors. All rights reserved.
"""Using trained ltplug models: inference-only export."""
from .export import (HEADS, SUPPORTED_TYPES, compare_models,
                     convert_state_dict, export_model, inference_config,
                     inference_model_cfg)

__all__ = [
    'HEADS', 'SUPPORTED_TYPES', 'compare_models', 'convert_state_dict',
    'export_model', 'inference_config', 'inference_model_cfg'
]
