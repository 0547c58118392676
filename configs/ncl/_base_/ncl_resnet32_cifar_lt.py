# NCL on CIFAR-LT with 3 ResNet-32 experts: model, data and schedule shared
# by the CIFAR configs (the official cifar100_im100_NCL.yaml recipe).
# Leaves set the dataset type / ratio, ``num_classes`` and ``hcm_n``.
_base_ = [
    '../../_base_/default_runtime.py',
    './cifar10_autoaugment_policy.py',
]

num_classes = 100

model = dict(
    type='NCLMultiExpertClassifier',
    num_experts=3,
    # the code's resnet_cifar.py: kaiming_normal_ (fan_in) on every conv,
    # BN weight 1 / bias 0 (PyTorch's default), no zero-init residual
    backbone=dict(
        type='CIFARResNet',
        depth=32,
        shortcut='A',  # zero-pad (official); 'B': 1x1 conv + BN
        zero_init_residual=False,
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d', mode='fan_in',
                 nonlinearity='relu', distribution='normal'),
            dict(type='Constant', val=1, bias=0, layer='_BatchNorm'),
        ]),
    neck=dict(type='GlobalAveragePooling'),
    # plain Linear with bias and PyTorch's default init, as in the code
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=64,
        init_cfg=None),
    # class counts come from the train set (ClassCountsHook)
    loss=dict(
        type='NCLLoss',
        hcm_n=30,
        ce_ratio=1.,
        hcm_ratio=1.,
        diversity_factor=0.6,
        diversity_factor_hcm=0.6,
        hcm_mask='zero'),
    moco_mode='official',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        # the NCL/PaCo CIFAR statistics; the CIFAR arrays are RGB already
        mean=[0.4914 * 255, 0.4822 * 255, 0.4465 * 255],
        std=[0.2023 * 255, 0.1994 * 255, 0.2010 * 255],
        to_rgb=False))

# RandomCrop(32, pad 4) + HFlip + AutoAugment CIFAR10Policy + Cutout(16).
# The policy's PIL colour ops (Contrast, Color) weigh RGB; MMCV's assume
# BGR, so AutoAugment runs inside ApplyInBGR on the RGB CIFAR arrays (its
# fill 128 is grey in any order). The code's Cutout centres a 16 x 16
# hole on a uniform pixel and clips it at the border, filling 0 before
# normalisation (ClippedCutout; MMPretrain's Cutout keeps the hole whole
# at the top / left edges).
ncl_cifar_view = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ApplyInBGR', channel_order='rgb', transforms=[
        dict(type='AutoAugment', policies={{_base_.cifar10_policy}})]),
    dict(type='ClippedCutout', length=16, pad_val=0, prob=1.),
]
train_pipeline = ncl_cifar_view + [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]

dataset_type = 'CIFAR100LT'
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar100',
        split='train',
        imbalance_ratio=100.,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root='data/cifar100',
        split='test',
        imbalance_ratio=100.,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# ensemble (mean logits) top-1 + many/medium/few, and every expert alone
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, )),
    dict(type='ExpertAccuracy'),
]
test_evaluator = val_evaluator

# SGD Nesterov, lr 0.1 for batch 64, wd 2e-4 on every parameter
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=2e-4))
# WarmupMultiStepLR (linear warm-up from lr / 3 over 5 epochs, x0.1 at
# 320 and 360) as the code runs it: stepped at the start of each 1-based
# epoch, so 0-based epoch e uses step e + 1: 7/15 lr at epoch 0, lr from
# epoch 4, x0.1 from epochs 319 and 359. (Without the offset: start_factor
# 1 / 3 and milestones [320, 360].)
param_scheduler = [
    dict(type='LinearLR', start_factor=7. / 15, by_epoch=True, begin=0,
         end=5),
    dict(type='MultiStepLR', by_epoch=True, milestones=[319, 359],
         gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
