# CBD stage 1, "vanilla" teacher, CIFAR-10-LT (imbalance ratio 100).
# CBD's official code and paper have no CIFAR recipe; this transfers the
# ImageNet-LT one (ALGORITHMS.md §3.5) to the usual CIFAR-LT setting:
# ResNet-32 (64-d feature) + cosine classifier (scale 20 fixed, no bias,
# Glorot-uniform weights) on the L2-normalised GAP feature, instance
# sampling, cross-entropy; pad-4 crop + flip; pixels scaled to [0, 1] (no
# mean/std normalisation). Our choices (not from the official code): 200
# epochs, batch 128, lr 0.05 (CBD's 0.1 x batch / 256) cosine-decayed per
# step without warm-up, momentum 0.9 (no Nesterov), weight decay 5e-4 in
# PyTorch SGD semantics (see the optimizer below).
# The seed is set on the command line (randomness.seed=1 / 2).
_base_ = [
    '../_base_/datasets/cifar10_lt.py',
    '../_base_/default_runtime.py',
    './_base_/cbd_pipelines.py',
]

num_classes = 10
# the CIFAR arrays are RGB; only scaled to [0, 1]
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=num_classes,
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    to_rgb=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=32, shortcut='A'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=num_classes,
        in_channels=64,
        scale=20.,
        learnable_scale=False,
        bias=False,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform')),
    data_preprocessor=data_preprocessor)

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    # instance sampling
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline={{_base_.cifar_train_pipeline}}))
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.cifar_test_pipeline}}))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(
        type='SGD',
        lr=0.05,
        momentum=0.9,
        nesterov=False,
        # PyTorch SGD weight_decay (lambda * theta added to the gradient),
        # our choice: the CIFAR-LT value of ltplug's SSD configs (LDAM-DRW
        # and NCL use 2e-4). It is NOT the ImageNet-LT value converted:
        # CBD's official 5e-4 there is SGD weight_decay 2.5e-4.
        weight_decay=5e-4))
# cosine decay to 0 over all steps, updated every iteration
param_scheduler = dict(
    type='CosineAnnealingLR',
    T_max=200,
    eta_min=0.,
    by_epoch=True,
    begin=0,
    end=200,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
