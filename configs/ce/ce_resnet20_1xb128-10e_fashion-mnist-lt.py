# Quickstart: cross-entropy ResNet-20 on Fashion-MNIST-LT (imbalance ratio
# 100), trained from scratch on a CPU in a few minutes; the test at the end
# prints the top-1 / top-5 / many / medium / few table (ShotAccuracy).
#
#   apt-get update && apt-get install -y dataset-fashion-mnist
#   python tools/misc/prepare_fashion_mnist.py
#   python tools/train.py configs/ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py
#
# To fit the time box the head class keeps 1,000 images (n_max) instead of
# 6,000: the ratio-100 profile is then 1000, 599, 359, 215, 129, 77, 46, 27,
# 16, 10 (2,478 images; many / medium / few = 5 / 3 / 2 classes), so every
# shot group is present. The balanced 10,000-image test set is unchanged.
_base_ = [
    '../_base_/datasets/fashion_mnist_lt.py',
    '../_base_/default_runtime.py',
]

n_max = 1000

model = dict(
    type='ImageClassifier',
    # grayscale input: one input channel
    backbone=dict(type='CIFARResNet', depth=20, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# num_workers=0: the images are in memory and the machine has 2 cores
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(n_max=n_max))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(n_max=n_max))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# 1 epoch of linear warm-up, then cosine to 0, per iteration
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10,
         eta_min=0., convert_to_iter_based=True),
]
# evaluate once, at the end
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
