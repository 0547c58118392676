# One ResNet-32 (the size of one NCL expert) distilled from the trained,
# frozen 3-expert NCL model of ncl_resnet32_1xb64-400e_cifar100-lt-r100.py
# (EnsembleDistiller). Loss: CE on the labels + KD (T = 2, weight 1)
# towards the experts' mean logits, on CBD's class-balanced resampling; the
# cosine feature term is off. Data pipeline, batch, schedule and
# normalisation are the NCL config's own (inherited): RandomCrop(32, 4) +
# flip + AutoAugment CIFAR10 policy + Cutout 16, 400 epochs. Train the NCL
# teacher first, or point `checkpoint` at it:
#   --cfg-options model.teachers.0.checkpoint=PATH
_base_ = ['./ncl_resnet32_1xb64-400e_cifar100-lt-r100.py']

teacher_config = \
    '{{ fileDirname }}/ncl_resnet32_1xb64-400e_cifar100-lt-r100.py'
teacher_checkpoint = \
    'work_dirs/ncl_resnet32_1xb64-400e_cifar100-lt-r100/epoch_400.pth'

model = dict(
    _delete_=True,
    type='EnsembleDistiller',
    # one expert of the teacher: the same backbone, pooling and head
    backbone={{_base_.model.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        init_cfg=None,
        # plain CE: the sampler balances the classes (Balanced Softmax on
        # top of it would correct the prior twice)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    teachers=[
        dict(name='ncl', config=teacher_config, checkpoint=teacher_checkpoint)
    ],
    kd_loss=dict(type='KDLoss', temperature=2.0, loss_weight=1.0),
    # CBD's term towards the concatenated expert features, e.g.
    # dict(type='CosineFeatureDistillLoss', loss_weight=40.)
    feat_loss=None,
    teacher_bn_mode='eval',
    data_preprocessor={{_base_.model.data_preprocessor}})

# the NCL optimizer on the student's parameters only (the constructor
# leaves the frozen teacher, requires_grad=False, out)
optim_wrapper = dict(constructor='TrainableOptimWrapperConstructor')

# one network: no per-expert metric
val_evaluator = dict(_delete_=True, type='ShotAccuracy', topk=(1, ))
test_evaluator = val_evaluator

# CBD's class-balanced over/under-sampling (epoch length N); NCL's
# instance-balanced sampling with Balanced Softmax is the other recipe:
#   train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
#   + head loss dict(type='BalancedSoftmaxLoss', tau=1.0)
# (CIFAR-10-LT, CPU budget, benchmarks/accuracy.py: 45.19 +- 1.44 top-1,
# few-shot 17.50, against 61.43 +- 0.20 and 63.17 for this one over 3
# seeds; the sampler makes the gain: README, "Accuracy with a seed spread")
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedResampleSampler'))
