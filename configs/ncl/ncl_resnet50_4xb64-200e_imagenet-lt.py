# NCL, 3 x ResNet-50, ImageNet-LT, no MoCo (ImageNet_LT.yaml): cosine
# classifier (scale 16, learnable bias), HCM_N = 300, 200 epochs cosine
# (eta_min 1e-4, no warm-up), lr 0.2 for 4 x 64 = 256 images, SyncBN.
_base_ = [
    '../_base_/datasets/imagenet_lt.py',
    '../_base_/default_runtime.py',
    './_base_/randaugment_timm_policies.py',
]

model = dict(
    type='NCLMultiExpertClassifier',
    num_experts=3,
    # the code's ResNet-50 keeps PyTorch's default init (its comment
    # "kaiming init missing"; ALGORITHMS.md 4.4): no init_cfg, no zero-init
    # residual. For torchvision-style init instead set init_cfg to
    # [dict(type='Kaiming', layer='Conv2d'),
    #  dict(type='Constant', val=1, layer='_BatchNorm')].
    backbone=dict(
        type='ResNet', depth=50, zero_init_residual=False, init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=1000,
        in_channels=2048,
        scale=16.,
        bias=True,
        # PyTorch's Linear default, as the code: U(+-1/sqrt(2048))
        init_cfg=dict(type='Uniform', layer='Linear', a=-2048**-0.5,
                      b=2048**-0.5)),
    loss=dict(type='NCLLoss', hcm_n=300, hcm_mask='zero'),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

# "randcls": RRC 224 + flip + ColorJitter(0.4, 0.4, 0.4) +
# RandAugment rand-n2-m10-mstd0.5 (timm's non-increasing ops)
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandAugment',
         policies={{_base_.timm_rand_policies}},
         num_policies=2,
         total_level=10,
         magnitude_level=10,
         magnitude_std=0.5,
         hparams=dict(pad_val={{_base_.timm_fill_bgr}})),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, 5)),
    dict(type='ExpertAccuracy'),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=2e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=200, eta_min=1e-4, by_epoch=True,
    begin=0, end=200)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
sync_bn = 'torch'  # the code converts to SyncBN under DDP
