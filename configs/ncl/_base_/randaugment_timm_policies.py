# timm's non-increasing RandAugment op set (``_RAND_TRANSFORMS``, the one
# behind ``rand-n2-m10-mstd0.5`` without ``inc1``), which NCL uses for
# ImageNet-LT and iNaturalist 2018 (its dataset/randaugment.py, a timm
# copy), written for MMPretrain's RandAugment.
# MMPretrain only ships the *increasing* set ('timm_increasing'); the
# differences are Posterize / Solarize (weaker with a higher level here)
# and the enhance ops, whose factor is ``0.1 + 1.8 * level / 10`` without a
# random sign (so ``1 + x`` with ``x`` in [-0.9, 0.9]).
# As the code:
# - the fill of the geometric ops is the ImageNet mean for both datasets
#   (ra_params img_mean = (124, 116, 104) in RGB), here in BGR order for
#   the BGR arrays of LoadImageFromFile: ``timm_fill_bgr``;
# - no ``interpolation`` in ra_params, so timm draws bilinear or bicubic
#   at random for every geometric op call: each geometric op is a
#   RandomChoice of its bilinear and bicubic versions (RandomChoice gets no
#   hparams from RandAugment, so their magnitude settings are written out:
#   level 10, std 0.5, as rand-n2-m10-mstd0.5). For one fixed filter use
#   the plain ops with ``hparams=dict(interpolation=...)``;
# - Posterize keeps ``int(level / 10 * 4)`` bits, rounded down
#   (TimmPosterize; MMPretrain's Posterize rounds up: rounding='ceil').
# Use with ``dict(type='RandAugment', policies=..., num_policies=2,
# total_level=10, magnitude_level=10, magnitude_std=0.5,
# hparams=dict(pad_val=timm_fill_bgr))``; every op fires with probability
# 0.5, as in timm.
timm_fill_bgr = [104, 116, 124]
timm_rand_policies = [
    dict(type='AutoContrast'),
    dict(type='Equalize'),
    dict(type='Invert'),
    dict(type='RandomChoice', transforms=[
        [dict(type='Rotate', magnitude_range=(0, 30),
              interpolation='bilinear', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
        [dict(type='Rotate', magnitude_range=(0, 30),
              interpolation='bicubic', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
    ]),
    dict(type='TimmPosterize', magnitude_range=(0, 4), rounding='floor'),
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
    dict(type='RandomChoice', transforms=[
        [dict(type='Shear', magnitude_range=(0, 0.3),
              direction='horizontal',
              interpolation='bilinear', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
        [dict(type='Shear', magnitude_range=(0, 0.3),
              direction='horizontal',
              interpolation='bicubic', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
    ]),
    dict(type='RandomChoice', transforms=[
        [dict(type='Shear', magnitude_range=(0, 0.3),
              direction='vertical',
              interpolation='bilinear', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
        [dict(type='Shear', magnitude_range=(0, 0.3),
              direction='vertical',
              interpolation='bicubic', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
    ]),
    dict(type='RandomChoice', transforms=[
        [dict(type='Translate', magnitude_range=(0, 0.45),
              direction='horizontal',
              interpolation='bilinear', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
        [dict(type='Translate', magnitude_range=(0, 0.45),
              direction='horizontal',
              interpolation='bicubic', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
    ]),
    dict(type='RandomChoice', transforms=[
        [dict(type='Translate', magnitude_range=(0, 0.45),
              direction='vertical',
              interpolation='bilinear', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
        [dict(type='Translate', magnitude_range=(0, 0.45),
              direction='vertical',
              interpolation='bicubic', pad_val=timm_fill_bgr,
              magnitude_level=10, magnitude_std=0.5,
              total_level=10)],
    ]),
]
