# CBD stage 2 with ONE teacher, CIFAR-10-LT (ratio 100): a ResNet-32 student
# trained from scratch with class-balanced over/under-sampling, loss
# 0.6 * CE + 0.4 * 100 * mean(1 - cos(student, teacher)). The student's
# 64-d GAP feature goes through Linear(64, 64 * K) + ReLU (K = 1), is
# L2-normalised and feeds both the cosine classifier (scale 20 fixed, no
# bias) and the distillation. Same schedule as the stage-1 teacher. Not a
# published setting (CBD reports no CIFAR results).
_base_ = ['./cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py']

# The teachers, in one place: each is built from its stage-1 config and the
# checkpoint that config produced (configs/cbd/README.md trains them into
# these work dirs).
teachers = [
    dict(
        name='vanilla_seed1',
        config='{{ fileDirname }}/'
        'cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py',
        checkpoint='work_dirs/'
        'cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100_seed1/'
        'epoch_200.pth'),
]
feat_dim = 64  # the teachers' (and the student backbone's) feature width
proj_dim = 64  # feat_dim * number of teachers

model = dict(
    _delete_=True,
    type='CBDDistiller',
    backbone=dict(type='CIFARResNet', depth=32, shortcut='A'),
    # GAP + Linear(64, proj_dim) + ReLU (no BN)
    neck=dict(
        type='LinearNeck',
        in_channels=feat_dim,
        out_channels=proj_dim,
        gap_dim=2,
        norm_cfg=None,
        act_cfg=dict(type='ReLU')),
    head=dict(
        type='CosineClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=proj_dim,
        scale=20.,
        learnable_scale=False,
        bias=False,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform')),
    teachers=teachers,
    alpha=0.4,
    distill_loss=dict(type='CosineFeatureDistillLoss', loss_weight=100.),
    # checkpoints hold the student only; the teachers come from their files
    save_teachers=False,
    data_preprocessor={{_base_.data_preprocessor}})

# class-balanced over/under-sampling, epoch length N
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedResampleSampler'))
