# ResNet-32 for CIFAR-LT (the backbone of LDAM-DRW, decoupling's CIFAR runs,
# BALMS, NCL, ...): 3 stages x 5 basic blocks, 16 / 32 / 64 channels,
# ~0.46 M parameters, then global average pooling and one linear layer.
# The data_preprocessor (normalisation, num_classes) comes from the dataset
# base config; leaves set head.num_classes.
model = dict(
    type='ImageClassifier',
    # LDAM-DRW's resnet_cifar.py (_weights_init): kaiming_normal_ (fan_in)
    # on every conv, PyTorch's BN default (weight 1, bias 0); CIFARResNet's
    # own default is MMPretrain ResNet's Kaiming fan_out
    backbone=dict(
        type='CIFARResNet',
        depth=32,
        shortcut='A',  # zero-pad (official); 'B': 1x1 conv + BN
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d', mode='fan_in',
                 nonlinearity='relu', distribution='normal'),
            dict(type='Constant', val=1, bias=0, layer='_BatchNorm'),
        ]),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        # LDAM-DRW's ResNet-32 initialises its Linear layer with PyTorch's
        # kaiming_normal_ (fan_in, leaky_relu a=0) as its convolutions
        init_cfg=dict(
            type='Kaiming',
            layer='Linear',
            mode='fan_in',
            nonlinearity='leaky_relu',
            a=0,
            distribution='normal')))
