# Quickstart, second half: the CE quickstart model and data trained with
# Balanced Softmax (cross-entropy on z + log n_c; counts from the train set
# through ClassCountsHook). Compare its many / medium / few table with the
# CE run's:
#   python tools/train.py configs/balanced_softmax/balanced-softmax_resnet20_1xb128-10e_fashion-mnist-lt.py
_base_ = ['../ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
