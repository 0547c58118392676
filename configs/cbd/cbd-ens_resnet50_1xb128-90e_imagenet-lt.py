# CBD_ENS, ImageNet-LT: CBD stage 2 with FOUR teachers, vanilla and data_aug
# at seeds 1 and 2 (the official configs/stage_two_cbd_ens.py, which the
# stored stage_two_cbd.py duplicates). The student projection is
# Linear(2048, 2048 * 4) + ReLU; the teachers' L2-normalised features are
# concatenated (8192-d) and normalised again. Everything else as
# cbd_resnet50_1xb128-90e_imagenet-lt.py. This is the published
# ResNet-50 CBD_ENS row (55.6 top-1 on the ImageNet-LT test set).
_base_ = ['./cbd_resnet50_1xb128-90e_imagenet-lt.py']

_vanilla = '{{ fileDirname }}/cbd-teacher_resnet50_1xb128-90e_imagenet-lt.py'
_aug = '{{ fileDirname }}/cbd-teacher-aug_resnet50_1xb128-90e_imagenet-lt.py'
_ckpt = 'work_dirs/{}_seed{}/epoch_90.pth'
teachers = [
    dict(name='vanilla_seed1', config=_vanilla,
         checkpoint=_ckpt.format(
             'cbd-teacher_resnet50_1xb128-90e_imagenet-lt', 1)),
    dict(name='vanilla_seed2', config=_vanilla,
         checkpoint=_ckpt.format(
             'cbd-teacher_resnet50_1xb128-90e_imagenet-lt', 2)),
    dict(name='data_aug_seed1', config=_aug,
         checkpoint=_ckpt.format(
             'cbd-teacher-aug_resnet50_1xb128-90e_imagenet-lt', 1)),
    dict(name='data_aug_seed2', config=_aug,
         checkpoint=_ckpt.format(
             'cbd-teacher-aug_resnet50_1xb128-90e_imagenet-lt', 2)),
]
proj_dim = 2048 * 4

model = dict(
    neck=dict(out_channels=proj_dim),
    head=dict(in_channels=proj_dim),
    teachers=teachers)
