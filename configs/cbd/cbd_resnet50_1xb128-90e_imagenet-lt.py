# CBD stage 2 with ONE teacher (the paper's "CBD"), ImageNet-LT: a ResNet-50
# student trained from scratch with class-balanced over/under-sampling,
# loss 0.6 * CE + 0.4 * 100 * mean(1 - cos(student, teacher)).
# The student's GAP feature goes through Linear(2048, 2048 * K) + ReLU
# (K = 1 teacher), is L2-normalised and feeds both the cosine classifier
# (scale 20 fixed, no bias) and the distillation. Same schedule as stage 1.
#
# The official configs/stage_two_cbd.py is identical to stage_two_cbd_ens.py
# (4 teachers); this file is the README's single-teacher CBD
# (model_ids=["vanilla_seed1"], proj_dim = 2048). See
# cbd-ens_resnet50_1xb128-90e_imagenet-lt.py for CBD_ENS.
_base_ = ['./cbd-teacher_resnet50_1xb128-90e_imagenet-lt.py']

# The teachers, in one place: each is built from its stage-1 config and the
# checkpoint that config produced (configs/cbd/README.md trains them into
# these work dirs).
teachers = [
    dict(
        name='vanilla_seed1',
        config='{{ fileDirname }}/'
        'cbd-teacher_resnet50_1xb128-90e_imagenet-lt.py',
        checkpoint='work_dirs/'
        'cbd-teacher_resnet50_1xb128-90e_imagenet-lt_seed1/epoch_90.pth'),
]
feat_dim = 2048  # the teachers' (and the student backbone's) feature width
proj_dim = 2048  # feat_dim * number of teachers

model = dict(
    _delete_=True,
    type='CBDDistiller',
    backbone=dict(type='ResNet', depth=50),
    # GAP + Linear(2048, proj_dim) + ReLU (no BN)
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
    alpha=0.4,  # distill_alpha
    distill_loss=dict(type='CosineFeatureDistillLoss',
                      loss_weight=100.),  # distill_fd_beta
    # checkpoints hold the student only; the teachers come from their files
    save_teachers=False,
    data_preprocessor={{_base_.data_preprocessor}})

# class-balanced over/under-sampling (config.sampling = "class_balanced"),
# epoch length N
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedResampleSampler'))
