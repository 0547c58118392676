# SSD stage IV (optional), ResNet-32, CIFAR-100-LT ratio 100: LWS again,
# on the stage-III student's encoder and its HARD head (backbone.*,
# head.fc.*; the soft head is ignored), as the official code does when
# ssd_stage_ii.py is rerun with --last_stage_ckpt. Same recipe as stage II.
_base_ = ['./ssd-stage2-lws_resnet32_1xb128-5e_cifar100-lt-r100.py']

model = dict(
    # THE previous stage, in one place (--cfg-options
    # model.init_checkpoint=PATH)
    init_checkpoint='work_dirs/ssd-stage3-distill_resnet32_1xb128-200e_'
    'cifar100-lt-r100/epoch_200.pth')
