# Balanced Softmax (Ren et al., NeurIPS 2020) = logit-adjusted CE
# (Menon et al., ICLR 2021, tau = 1): cross-entropy on z + log(n_c) in
# training, raw logits at test time. Same model, data and schedule as the
# CE baseline. The counts n_c come from the train dataset
# (ClassCountsHook in default_runtime.py), never from this file.
_base_ = ['../ce/ce_resnet32_1xb128-200e_cifar100-lt-r10.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='BalancedSoftmaxLoss', tau=1.0)))
