# tau-normalised classifier (Kang et al., ICLR 2020) on CIFAR-10-LT r100: a
# test-time-only change of the CE model. The CE checkpoint (named in
# ./_base_/ce_checkpoints.py) is tested with its linear weights divided by
# ||W_c||^tau (TauNormClsHead keeps LinearClsHead's keys, so the checkpoint
# loads as is). No training:
#   python tools/test.py configs/decoupling/tau-norm_resnet32_cifar10-lt-r100.py \
#       work_dirs/ce_resnet32_1xb128-200e_cifar10-lt-r100/epoch_200.pth
# The paper picks tau on a validation split (tau in [0, 2]); tau = 1 (unit
# norm weights) is the default here; sweep with
# --cfg-options model.head.tau=0.7 etc.
_base_ = [
    '../ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py',
    './_base_/ce_checkpoints.py',
]

model = dict(
    head=dict(
        _delete_=True,
        type='TauNormClsHead',
        num_classes=10,
        in_channels=64,
        tau=1.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
load_from = {{_base_.ce_ckpt_cifar10_lt_r100}}
