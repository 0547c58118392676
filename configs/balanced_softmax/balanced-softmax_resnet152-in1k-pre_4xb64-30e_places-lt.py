# Balanced Softmax on places-lt: the CE config ../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py
# with only the loss changed (counts from the train dataset through
# ClassCountsHook).
_base_ = ['../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
