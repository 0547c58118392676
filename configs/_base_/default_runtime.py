# Runtime shared by every ltplug config: MMPretrain's defaults, plus the
# plugin import (registers ltplug's components into MMPretrain's registries).
custom_imports = dict(imports=['ltplug'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

# ClassCountsHook gives the train set's per-class counts to the losses that
# need them; InvalidLossStopHook stops at the first NaN/inf loss and names the
# iteration and the last good checkpoint; RNGStateHook keeps the random
# generators in checkpoints so a resumed run draws what an uninterrupted one
# would.
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='InvalidLossStopHook'),
    dict(type='RNGStateHook'),
]

env_cfg = dict(
    # cuDNN times its convolution algorithms once per input shape and keeps
    # the fastest. On, since every ltplug config feeds one image size per
    # split: CIFAR 32 x 32 (random crops with padding), Fashion-MNIST
    # 28 x 28, 224 x 224 crops for ImageNet-LT / iNaturalist / Places-LT
    # (tests/test_configs/test_runtime_configs.py checks every config). A
    # config whose inputs vary in size must set it False (each new shape is
    # timed again). Where determinism matters, set
    # randomness.deterministic=True (the kill / resume tests do): MMEngine
    # then turns cudnn.benchmark off again. No effect without cuDNN.
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # without CUDA, ltplug switches this to gloo
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
# Checkpoints must fit the model: load_from and tools/test.py refuse missing,
# unexpected or mis-shaped keys (ltplug.utils.strict_load); True
# (--allow-partial) loads what fits and logs the rest. --resume is always
# strict. init_cfg=dict(type='Pretrained', ...) is strict too; a partial
# load is written in that init_cfg: allow_missing=[...],
# allow_unexpected=[...] or strict=False (ltplug.utils.strict_pretrained).
allow_partial_load = False
resume = False
randomness = dict(seed=0, deterministic=False)
