# Balanced Softmax on CIFAR-10-LT r50: the CE r50 config with only the loss
# changed (counts from the train dataset through ClassCountsHook).
_base_ = ['../ce/ce_resnet32_1xb128-200e_cifar10-lt-r50.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
