# CBD stage 1, "vanilla" teacher, iNaturalist 2018 (the official
# stage_one_vanilla recipe with the iNat18 settings): ResNet-50 + cosine
# classifier (scale 20 fixed, no bias, Glorot-uniform weights) on the
# L2-normalised GAP feature, instance sampling, cross-entropy. 200 epochs,
# global batch 128, SGD lr 0.05 (= 0.1 x 128 / 256) cosine-decayed per step
# without warm-up, momentum 0.9 (no Nesterov), weight decay 1e-4 on every
# parameter (the official 2e-4, see the optimizer below). Pixels are scaled
# to [0, 1] (no mean/std normalisation). The seed is set on the command line
# (randomness.seed=1 / 2), see configs/cbd/README.md.
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/default_runtime.py',
    './_base_/cbd_pipelines.py',
]

num_classes = 8142
# images are loaded as BGR; only scaled to [0, 1]
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=num_classes,
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    to_rgb=True)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=50),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CosineClsHead',
        num_classes=num_classes,
        in_channels=2048,
        scale=20.,
        learnable_scale=False,
        bias=False,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform')),
    data_preprocessor=data_preprocessor)

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    # instance sampling (config.sampling = "uniform")
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline={{_base_.imagenet_train_pipeline}}))
val_dataloader = dict(
    batch_size=128, dataset=dict(pipeline={{_base_.imagenet_test_pipeline}}))
# the official val2018 set is the test set
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(
        type='SGD',
        lr=0.05,
        momentum=0.9,
        nesterov=False,
        # Official weight_decay 2e-4, added to the loss as
        # wd * 0.5 * tf.nn.l2_loss(theta) = (wd / 4) * |theta|^2 over all
        # trainable variables (train.py::train_step): gradient
        # (wd / 2) * theta, i.e. PyTorch SGD weight_decay = wd / 2.
        weight_decay=1e-4))
# cosine decay to 0 over all steps, updated every iteration
param_scheduler = dict(
    type='CosineAnnealingLR',
    T_max=200,
    eta_min=0.,
    by_epoch=True,
    begin=0,
    end=200,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=5)
val_cfg = dict()
test_cfg = dict()
# lr 0.05 is for a global batch of 128 (--auto-scale-lr rescales it)
auto_scale_lr = dict(base_batch_size=128)
