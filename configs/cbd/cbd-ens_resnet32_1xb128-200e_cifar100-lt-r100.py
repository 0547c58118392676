# CBD_ENS, CIFAR-100-LT (ratio 100): CBD stage 2 with FOUR teachers,
# vanilla and data_aug at seeds 1 and 2; student projection
# Linear(64, 64 * 4) + ReLU. Everything else as
# cbd_resnet32_1xb128-200e_cifar100-lt-r100.py. Not a published setting.
_base_ = ['./cbd_resnet32_1xb128-200e_cifar100-lt-r100.py']

_vanilla = '{{ fileDirname }}/' \
    'cbd-teacher_resnet32_1xb128-200e_cifar100-lt-r100.py'
_aug = '{{ fileDirname }}/' \
    'cbd-teacher-aug_resnet32_1xb128-200e_cifar100-lt-r100.py'
_ckpt = 'work_dirs/{}_seed{}/epoch_200.pth'
teachers = [
    dict(name='vanilla_seed1', config=_vanilla,
         checkpoint=_ckpt.format(
             'cbd-teacher_resnet32_1xb128-200e_cifar100-lt-r100', 1)),
    dict(name='vanilla_seed2', config=_vanilla,
         checkpoint=_ckpt.format(
             'cbd-teacher_resnet32_1xb128-200e_cifar100-lt-r100', 2)),
    dict(name='data_aug_seed1', config=_aug,
         checkpoint=_ckpt.format(
             'cbd-teacher-aug_resnet32_1xb128-200e_cifar100-lt-r100', 1)),
    dict(name='data_aug_seed2', config=_aug,
         checkpoint=_ckpt.format(
             'cbd-teacher-aug_resnet32_1xb128-200e_cifar100-lt-r100', 2)),
]
proj_dim = 64 * 4

model = dict(
    neck=dict(out_channels=proj_dim),
    head=dict(in_channels=proj_dim),
    teachers=teachers)
