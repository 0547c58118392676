# SSD stage IV (optional LWS on the student's hard head), ResNet-32,
# CIFAR-100-LT ratio 10.
_base_ = ['./ssd-stage2-lws_resnet32_1xb128-5e_cifar100-lt-r10.py']

model = dict(
    # the previous stage (--cfg-options model.init_checkpoint=PATH)
    init_checkpoint='work_dirs/ssd-stage3-distill_resnet32_1xb128-200e_'
    'cifar100-lt-r10/epoch_200.pth')
