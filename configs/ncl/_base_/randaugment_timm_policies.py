# timm's non-increasing RandAugment op set (``_RAND_TRANSFORMS``, the one
# behind ``rand-n2-m10-mstd0.5`` without ``inc1``), which NCL uses for
# ImageNet-LT and iNaturalist 2018, written for MMPretrain's RandAugment.
# MMPretrain only ships the *increasing* set ('timm_increasing'); the
# differences are Posterize / Solarize (weaker with a higher level here)
# and the enhance ops, whose factor is ``0.1 + 1.8 * level / 10`` without a
# random sign (so ``1 + x`` with ``x`` in [-0.9, 0.9]).
# Use with ``dict(type='RandAugment', policies=..., num_policies=2,
# total_level=10, magnitude_level=10, magnitude_std=0.5)``; every op fires
# with probability 0.5, as in timm.
timm_rand_policies = [
    dict(type='AutoContrast'),
    dict(type='Equalize'),
    dict(type='Invert'),
    dict(type='Rotate', magnitude_range=(0, 30)),
    dict(type='Posterize', magnitude_range=(0, 4)),
    dict(type='Solarize', magnitude_range=(0, 256)),
    dict(type='SolarizeAdd', magnitude_range=(0, 110)),
    dict(type='ColorTransform', magnitude_range=(-0.9, 0.9),
         random_negative_prob=0.),
    dict(type='Contrast', magnitude_range=(-0.9, 0.9),
         random_negative_prob=0.),
    dict(type='Brightness', magnitude_range=(-0.9, 0.9),
         random_negative_prob=0.),
    dict(type='Sharpness', magnitude_range=(-0.9, 0.9),
         random_negative_prob=0.),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
    dict(type='Translate', magnitude_range=(0, 0.45),
         direction='horizontal'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
]
