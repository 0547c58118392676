# The stage-one (cross-entropy, instance-balanced) checkpoints that every
# decoupling config starts from: THE one place to change them. The defaults
# are where `python tools/train.py configs/ce/<config>.py` leaves its last
# epoch (work_dirs/<config name>/epoch_<max_epochs>.pth).
ce_ckpt_cifar10_lt_r100 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar10-lt-r100/epoch_200.pth'
ce_ckpt_cifar100_lt_r100 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar100-lt-r100/epoch_200.pth'
ce_ckpt_cifar100_lt_r50 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar100-lt-r50/epoch_200.pth'
ce_ckpt_cifar100_lt_r10 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar100-lt-r10/epoch_200.pth'
ce_ckpt_imagenet_lt_rx50 = \
    'work_dirs/ce_resnext50-32x4d_4xb128-90e_imagenet-lt/epoch_90.pth'
ce_ckpt_cifar10_lt_r50 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar10-lt-r50/epoch_200.pth'
ce_ckpt_cifar10_lt_r10 = \
    'work_dirs/ce_resnet32_1xb128-200e_cifar10-lt-r10/epoch_200.pth'
ce_ckpt_imagenet_lt_r50 = \
    'work_dirs/ce_resnet50_4xb128-90e_imagenet-lt/epoch_90.pth'
ce_ckpt_places_lt_r152 = \
    'work_dirs/ce_resnet152-in1k-pre_4xb64-30e_places-lt/epoch_30.pth'
ce_ckpt_inat2018_r50 = \
    'work_dirs/ce_resnet50_4xb128-90e_inat2018/epoch_90.pth'
