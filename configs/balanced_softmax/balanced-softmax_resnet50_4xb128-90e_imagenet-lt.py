# Balanced Softmax on imagenet-lt: the CE config ../ce/ce_resnet50_4xb128-90e_imagenet-lt.py
# with only the loss changed (counts from the train dataset through
# ClassCountsHook).
_base_ = ['../ce/ce_resnet50_4xb128-90e_imagenet-lt.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
