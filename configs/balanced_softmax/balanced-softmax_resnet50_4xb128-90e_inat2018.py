# Balanced Softmax on inat2018: the CE config ../ce/ce_resnet50_4xb128-90e_inat2018.py
# with only the loss changed (counts from the train dataset through
# ClassCountsHook).
_base_ = ['../ce/ce_resnet50_4xb128-90e_inat2018.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
