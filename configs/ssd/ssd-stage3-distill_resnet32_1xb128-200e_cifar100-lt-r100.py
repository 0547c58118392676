# SSD stage III (self-distillation), ResNet-32, CIFAR-100-LT ratio 100: a
# new student from scratch with a hard head (CE) and a soft head (KD, T 2,
# weight 1) learning online from the frozen stage-II teacher (stage-I
# encoder + LWS) on the same augmented batch. Same recipe as stage I.
_base_ = [
    '../_base_/datasets/cifar100_lt.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SSDDistiller',
    backbone=dict(type='CIFARResNet', depth=32, shortcut='A'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(  # hard head
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        init_cfg=None,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    soft_head=None,  # a copy of the hard head's config
    kd_loss=dict(type='KDLoss', temperature=2.0, loss_weight=1.0),
    # THE previous stage, in one place (override with --cfg-options
    # model.teachers.0.checkpoint=PATH): its config (run from the repository
    # root) and its checkpoint, loaded and checked when the model is built
    teachers=[dict(
        config='configs/ssd/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar100-lt-r100.py',
        checkpoint='work_dirs/ssd-stage2-lws_resnet32_1xb128-5e_'
        'cifar100-lt-r100/epoch_5.pth')],
    # 'train' (official): the teacher's BN uses the batch statistics of the
    # current batch; 'eval': its stored running statistics
    teacher_bn_mode='train',
    # 'soft' (the head the SSD README reports best) or 'hard'; both heads
    # are also scored by ExpertAccuracy (e0 = hard, e1 = soft)
    predict_head='soft')

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # MMCV's colour jitter assumes BGR; the CIFAR arrays are RGB
    dict(type='ApplyInBGR', channel_order='rgb', transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4)]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128, drop_last=True, dataset=dict(pipeline=train_pipeline))
val_evaluator = [
    dict(type='ShotAccuracy', topk=(1, )),
    dict(type='ExpertAccuracy', prefix='heads'),
]
test_evaluator = val_evaluator

# one group of the trainable parameters (foreach SGD): the constructor
# leaves the teacher (requires_grad=False) out of the optimizer
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    constructor='TrainableOptimWrapperConstructor')
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=200, eta_min=0., by_epoch=True,
    begin=0, end=200)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
