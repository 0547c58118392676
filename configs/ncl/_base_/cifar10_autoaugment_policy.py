# AutoAugment "CIFAR10Policy" (Cubuk et al., CVPR 2019) as used by NCL /
# PaCo for CIFAR-LT (the 25 sub-policies of the DeepVoltaire/AutoAugment
# port), written for MMPretrain's ``AutoAugment(policies=...)``. Each
# sub-policy is picked uniformly, each of its two operations fires with its
# own probability; geometric ops fill with 128 (``hparams=dict(pad_val=128)``,
# the port's fillcolor).
#
# Magnitude level m (0..9) -> MMPretrain argument, matching the port's tables
# (``np.linspace(..., 10)[m]``) and semantics:
#   Shear(magnitude)            = 0.3 * m / 9          (shear factor, +-)
#   Translate(magnitude)        = 150 / 331 * m / 9    (fraction of the width,
#                                                       +-; MMPretrain also
#                                                       multiplies by the size)
#   Rotate(angle)               = -30 * m / 9          (degrees, no random
#                                                       sign: the port's
#                                                       rotate_with_fill is
#                                                       PIL's counter-
#                                                       clockwise rotate(+a);
#                                                       MMCV's positive angle
#                                                       is clockwise)
#   ColorTransform / Contrast /
#   Sharpness / Brightness      = 0.9 * m / 9          (enhance factor 1 +- x)
#   Posterize(bits)             = round(8 - 4 * m / 9) (bits kept)
#   Solarize(thr)               = 256 - 256 * m / 9    (pixels >= thr inverted)
#   Invert / AutoContrast / Equalize: no magnitude.
# The random sign of the port (random.choice([-1, 1])) on shear, translate
# and the enhance ops is MMPretrain's ``random_negative_prob=0.5`` default;
# the port's rotate has no random sign (``random_negative_prob=0.``). For
# a random-sign rotate (the paper's AutoAugment) set it back to 0.5.

cifar10_policy = [
    [dict(type='Invert', prob=0.1),
     dict(type='Contrast', magnitude=0.9 * 6 / 9, prob=0.2)],
    [dict(type='Rotate', angle=-30 * 2 / 9, prob=0.7,
          random_negative_prob=0.),
     dict(type='Translate', magnitude=150 / 331 * 9 / 9, prob=0.3,
          direction='horizontal')],
    [dict(type='Sharpness', magnitude=0.9 * 1 / 9, prob=0.8),
     dict(type='Sharpness', magnitude=0.9 * 3 / 9, prob=0.9)],
    [dict(type='Shear', magnitude=0.3 * 8 / 9, prob=0.5,
          direction='vertical'),
     dict(type='Translate', magnitude=150 / 331 * 9 / 9, prob=0.7,
          direction='vertical')],
    [dict(type='AutoContrast', prob=0.5),
     dict(type='Equalize', prob=0.9)],
    [dict(type='Shear', magnitude=0.3 * 7 / 9, prob=0.2,
          direction='vertical'),
     dict(type='Posterize', bits=5, prob=0.3)],  # round(8 - 4 * 7 / 9) = 5
    [dict(type='ColorTransform', magnitude=0.9 * 3 / 9, prob=0.4),
     dict(type='Brightness', magnitude=0.9 * 7 / 9, prob=0.6)],
    [dict(type='Sharpness', magnitude=0.9 * 9 / 9, prob=0.3),
     dict(type='Brightness', magnitude=0.9 * 9 / 9, prob=0.7)],
    [dict(type='Equalize', prob=0.6),
     dict(type='Equalize', prob=0.5)],
    [dict(type='Contrast', magnitude=0.9 * 7 / 9, prob=0.6),
     dict(type='Sharpness', magnitude=0.9 * 5 / 9, prob=0.6)],
    [dict(type='ColorTransform', magnitude=0.9 * 7 / 9, prob=0.7),
     dict(type='Translate', magnitude=150 / 331 * 8 / 9, prob=0.5,
          direction='horizontal')],
    [dict(type='Equalize', prob=0.3),
     dict(type='AutoContrast', prob=0.4)],
    [dict(type='Translate', magnitude=150 / 331 * 3 / 9, prob=0.4,
          direction='vertical'),
     dict(type='Sharpness', magnitude=0.9 * 6 / 9, prob=0.2)],
    [dict(type='Brightness', magnitude=0.9 * 6 / 9, prob=0.9),
     dict(type='ColorTransform', magnitude=0.9 * 8 / 9, prob=0.2)],
    [dict(type='Solarize', thr=256 - 256 * 2 / 9, prob=0.5),
     dict(type='Invert', prob=0.0)],
    [dict(type='Equalize', prob=0.2),
     dict(type='AutoContrast', prob=0.6)],
    [dict(type='Equalize', prob=0.2),
     dict(type='Equalize', prob=0.6)],
    [dict(type='ColorTransform', magnitude=0.9 * 9 / 9, prob=0.9),
     dict(type='Equalize', prob=0.6)],
    [dict(type='AutoContrast', prob=0.8),
     dict(type='Solarize', thr=256 - 256 * 8 / 9, prob=0.2)],
    [dict(type='Brightness', magnitude=0.9 * 3 / 9, prob=0.1),
     dict(type='ColorTransform', magnitude=0.9 * 0 / 9, prob=0.7)],
    [dict(type='Solarize', thr=256 - 256 * 5 / 9, prob=0.4),
     dict(type='AutoContrast', prob=0.9)],
    [dict(type='Translate', magnitude=150 / 331 * 9 / 9, prob=0.9,
          direction='vertical'),
     dict(type='Translate', magnitude=150 / 331 * 9 / 9, prob=0.7,
          direction='vertical')],
    [dict(type='AutoContrast', prob=0.9),
     dict(type='Solarize', thr=256 - 256 * 3 / 9, prob=0.8)],
    [dict(type='Equalize', prob=0.8),
     dict(type='Invert', prob=0.1)],
    [dict(type='Translate', magnitude=150 / 331 * 9 / 9, prob=0.7,
          direction='vertical'),
     dict(type='AutoContrast', prob=0.9)],
]
