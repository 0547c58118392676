# iNaturalist 2018 has no official SSD code (only ImageNet-LT is released):
# this reuses the ImageNet-LT recipe unchanged except for the backbone,
# the classes and K.
# SSD stage III (self-distillation, the official SDL), ResNet-50,
# iNaturalist 2018: a new student from scratch with a hard head (CE) and a soft
# head (KD, T 2, weight 1) learning online from the frozen stage-II
# teacher; 135 epochs, global batch 256, SGD lr 0.1, cosine per epoch.
_base_ = [
    '../_base_/datasets/inat2018.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDDistiller',
    backbone=dict(type='ResNet', depth=50, zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
        in_channels=2048,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    soft_head=None,  # a copy of the hard head
    kd_loss=dict(type='KDLoss', temperature=2.0, loss_weight=1.0),
    # THE previous stage, in one place (--cfg-options
    # model.teachers.0.checkpoint=PATH)
    teachers=[dict(
        config='configs/ssd/ssd-stage2-lws_resnet50_4xb128-5e_'
        'inat2018.py',
        checkpoint='work_dirs/ssd-stage2-lws_resnet50_4xb128-5e_'
        'inat2018/epoch_5.pth')],
    teacher_bn_mode='train',  # official
    predict_head='soft')

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, 5)),
    dict(type='ExpertAccuracy', prefix='heads'),  # e0 hard, e1 soft
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=135, eta_min=0., by_epoch=True,
    begin=0, end=135)
train_cfg = dict(by_epoch=True, max_epochs=135, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
