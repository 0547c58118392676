# Copyright (c) ltplug contributors. All rights reserved.
"""Train and test every method on CIFAR-10-LT (ratio 100) and tabulate
top-1, many / medium / few, wall time and images/s.

All methods use ResNet-32, the same data (the LDAM-DRW selection of
CIFAR-10-LT, the full balanced test set), the same seeds and the project's
own configs, run through ``tools/train.py`` (or ``tools/dist_train.sh`` with
``--gpus N``). Multi-stage methods run their stages in order, each stage
pointed at the previous stage's checkpoint; a stage shared by two methods
(the CE model under LWS) runs once and counts in both wall times.

Budgets:

- ``--budget cpu`` (default): every stage trained from scratch gets
  ``--epochs`` epochs (default 10) and fine-tuning stages ``--ft-epochs``
  (default 2), with a 1-epoch linear warm-up then cosine decay, so that all
  methods together finish in under 2 hours on a 2-core CPU (70 min
  measured). Numbers from this budget are NOT the papers' and are reported
  as such.
- ``--budget full``: the configs' own schedules (the papers' recipes, e.g.
  200 epochs for CE, 400 for NCL); meant for a GPU.

Data: ``--data-root`` is a folder holding ``cifar-10-batches-py`` (the
official python layout). Without it, the project's shared CIFAR-10
(``../shared/data/cifar10``, JPEG q75 re-encoded, so pixels differ slightly
from the official release) is written into the work dir in that layout.

Shot groups: the standard rule (many > 100, few < 20 training images)
puts CIFAR-10-LT ratio 100's classes 8 / 2 / 0 (no few-shot class at all),
so the table's many / medium / few use ``--many-thr`` / ``--few-thr``
(defaults 1500 / 200: classes 0-2, 3-6 and 7-9, 3 / 4 / 3 classes, by
training count 5000-1796, 1077-232 and 139-50). They are recomputed from
each final model's per-class accuracy (``per_class_accuracy.json``); the
standard-rule groups stay in ``accuracy.json`` (``shot/*``).

NCL rows: ``ncl`` is the 3-expert ensemble and ``ncl best expert`` its
best single expert (``ExpertAccuracy``); ``ncl_distill`` is one ResNet-32
distilled (``EnsembleDistiller``) from the ``ncl`` run of the same budget
and seed (CE + KD, T = 2, on class-balanced resampling; ``ncl_distill_bs``
the configs' other recipe, Balanced Softmax + KD on instance-balanced
sampling), ``ncl_single`` one ResNet-32 trained alone with NCL's recipe
for one expert (Balanced Softmax, instance-balanced sampling), and
``ncl_distill_no_kd`` the distilled network's config without its teacher
(CE on class-balanced resampling: what KD adds). All use NCL's
augmentation (RandomCrop 32 pad 4, flip, AutoAugment CIFAR10 policy,
Cutout 16), batch 64 and NCL's optimizer. After each seed's methods, every
final model's inference throughput is timed in this process (``--infer-batch`` random images per
predict forward, ``--infer-iters`` forwards, median of ``--infer-rounds``
round-robin rounds) and given as a ratio to the ``ncl`` ensemble's.

Seeds: ``--seeds 0 1 2`` runs every method once per seed (in
``<work-dir>/seed<S>``; ``--seeds 0``, the default, keeps ``<work-dir>``);
the table gives mean ± sample std (n - 1) per method, ``accuracy.json``
the per-seed values (``results.<method>.per_seed``) and the summary.

``ce_batchaug`` is CE with the batched augmentation path
(``configs/batchaug/``, the same crop + flip drawn per sample on whole
batches by ``BatchAugDataPreprocessor``), to compare with ``ce``;
``ncl_batchaug`` is NCL with the batched path (crop + flip + AutoAugment
CIFAR10 policy + Cutout, drawn per sample on whole batches), to compare
with ``ncl``. ``ssd_stage1`` is SSD's stage I alone (CE + MoCo; its top-1
is the jointly trained linear classifier's) and ``ssd_stage1_batchaug`` the
same with both of its views (the pad-4 crop + flip + ColorJitter query
view, the MoCo v2 key view: RandomResizedCrop, ColorJitter, grayscale,
Gaussian blur, flip) drawn per sample on whole batches: the check of the
contrastive views.

Resume: every finished stage writes ``accuracy_stage.json`` (its record,
the config file it trained, a hash of that config as resolved, its bases
included, and hashes of the checkpoints it started from); ``--resume``
reuses a stage only when all of them are unchanged and trains the others,
so a stopped multi-seed run continues where it stopped, and a stage whose
method config (a ``_base_`` file) was edited, or whose teacher was trained
again, is trained again too.

Several runs, one table: each run's ``accuracy.json`` keeps every final
model's per-class rows, so ``--table-only --merge OTHER/accuracy.json``
adds the seeds another work dir (or session) ran, without its work dirs.

Outputs ``<work-dir>/accuracy.md`` and ``<work-dir>/accuracy.json``;
``--table-only`` rebuilds both from a finished (or stopped) run's
``accuracy.json`` and per-class files, e.g. with other thresholds.

Example::

    python benchmarks/accuracy.py --work-dir work_dirs/accuracy
    python benchmarks/accuracy.py --seeds 0 1 2 \\
        --methods ce balanced_softmax ncl ncl_distill ncl_single \\
        ncl_distill_no_kd
    python benchmarks/accuracy.py --budget full --gpus 8 \\
        --data-root data/cifar10
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the table step imports ltplug from this checkout, as the stages' own
# tools/train.py does: the same code, installed or not
sys.path.insert(0, ROOT)
SHARED_CIFAR10 = osp.join(osp.dirname(ROOT), 'shared', 'data', 'cifar10')


class Stage:
    """One training run of a method.

    Args:
        name (str): Unique stage name (also its work-dir folder).
        config (str): Config path relative to the repository root.
        finetune (bool): Whether the stage fine-tunes a trained model (gets
            ``--ft-epochs`` on the CPU budget). Defaults to False.
        needs (dict): ``{placeholder: stage name}``: the stage's overrides
            may use ``{placeholder}`` for that stage's last checkpoint.
            Defaults to None.
        overrides (str): Config text appended to the stage's config (after
            the common overrides). Defaults to ''.
    """

    def __init__(self, name: str, config: str, finetune: bool = False,
                 needs: Optional[Dict[str, str]] = None,
                 overrides: str = '') -> None:
        self.name = name
        self.config = config
        self.finetune = finetune
        self.needs = needs or {}
        self.overrides = overrides


CE = Stage('ce', 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py')
CBD_TEACHER = Stage(
    'cbd_teacher',
    'configs/cbd/cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py')
SSD_STAGE1 = Stage(
    'ssd_stage1',
    'configs/ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py')
SSD_STAGE2 = Stage(
    'ssd_stage2',
    'configs/ssd/ssd-stage2-lws_resnet32_1xb128-5e_cifar10-lt-r100.py',
    finetune=True, needs={'stage1': 'ssd_stage1'},
    overrides="model = dict(init_checkpoint='{stage1}')\n")
SSD_STAGE3 = Stage(
    'ssd_stage3',
    'configs/ssd/ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py',
    needs={'stage2': 'ssd_stage2'},
    overrides="model = dict(teachers=[dict(\n"
    "    checkpoint='{stage2}', config={ssd_stage2_config!r})])\n")

NCL = Stage('ncl', 'configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py')
NCL_DISTILL_CONFIG = \
    'configs/ncl/ncl-distill_resnet32_1xb64-400e_cifar10-lt-r100.py'

METHODS: Dict[str, List[Stage]] = {
    'ce': [CE],
    'balanced_softmax': [
        Stage('balanced_softmax', 'configs/balanced_softmax/'
              'balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100.py')
    ],
    'lws': [
        CE,
        Stage('lws',
              'configs/decoupling/lws_resnet32_1xb128-10e_cifar10-lt-r100.py',
              finetune=True, needs={'ce': 'ce'},
              overrides="model = dict(\n"
              "    backbone=dict(init_cfg=dict(checkpoint='{ce}')),\n"
              "    head=dict(init_cfg=dict(checkpoint='{ce}')))\n"),
    ],
    'ssd': [SSD_STAGE1, SSD_STAGE2, SSD_STAGE3],
    'cbd': [
        CBD_TEACHER,
        Stage('cbd', 'configs/cbd/cbd_resnet32_1xb128-200e_cifar10-lt-r100.py',
              needs={'teacher': 'cbd_teacher'},
              overrides="model = dict(teachers=[dict(\n"
              "    name='vanilla', checkpoint='{teacher}', config="
              "{teacher_config!r})])\n"),
    ],
    'ncl': [NCL],
    # CE with the batched augmentation path (BatchAugDataPreprocessor: the
    # same RandomCrop 32 pad 4 + flip, drawn per sample on whole batches);
    # compared with 'ce' (per-sample pipeline) at the same budget and seeds
    'ce_batchaug': [
        Stage('ce_batchaug', 'configs/batchaug/'
              'ce_resnet32_1xb128-200e_cifar10-lt-r100-batchaug.py')
    ],
    # NCL with the batched path: the same crop + flip + AutoAugment CIFAR10
    # policy + Cutout 16, drawn per sample on whole batches; compared with
    # 'ncl' at the same budget and seeds
    'ncl_batchaug': [
        Stage('ncl_batchaug', 'configs/batchaug/'
              'ncl_resnet32_1xb64-400e_cifar10-lt-r100-batchaug.py')
    ],
    # SSD stage I alone (CE + MoCo on two views: a pad-4 crop + flip +
    # ColorJitter query view, a MoCo v2 key view with RandomResizedCrop,
    # ColorJitter, grayscale, Gaussian blur and flip), per sample in the
    # dataloader; its top-1 is the jointly trained linear classifier's
    'ssd_stage1': [SSD_STAGE1],
    # the same two views drawn per sample on whole batches
    # (BatchAugDataPreprocessor); compared with 'ssd_stage1' at the same
    # budget and seeds: the contrastive views' accuracy check
    'ssd_stage1_batchaug': [
        Stage('ssd_stage1_batchaug', 'configs/batchaug/'
              'ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100-batchaug.py')
    ],
    # one ResNet-32 distilled from the NCL run of the same budget (its
    # teacher), trained with NCL's augmentation (RandomCrop 32 pad 4 + flip
    # + AutoAugment CIFAR10 policy + Cutout 16), batch 64 and schedule
    'ncl_distill': [
        NCL,
        Stage('ncl_distill', NCL_DISTILL_CONFIG, needs={'teacher': 'ncl'},
              overrides="model = dict(teachers=[dict(\n"
              "    name='ncl', checkpoint='{teacher}', config="
              "{ncl_config!r})])\n"),
    ],
    # the same with the configs' other recipe: Balanced Softmax + KD on
    # NCL's instance-balanced sampling (the configs' default until
    # 2026-12-03)
    'ncl_distill_bs': [
        NCL,
        Stage('ncl_distill_bs', NCL_DISTILL_CONFIG, needs={'teacher': 'ncl'},
              overrides="model = dict(teachers=[dict(\n"
              "    name='ncl', checkpoint='{teacher}', config="
              "{ncl_config!r})],\n"
              "    head=dict(loss=dict(_delete_=True, "
              "type='BalancedSoftmaxLoss', tau=1.0)))\n"
              # after the common overrides' train_dataloader: update it
              "train_dataloader.update(sampler=dict(_delete_=True, "
              "type='DefaultSampler', shuffle=True))\n"),
    ],
    # one NCL expert trained alone at the same budget: the distilled
    # network's ResNet-32 and head without the teacher, with NCL's own
    # recipe for one expert: Balanced Softmax (NCL's CE term; its
    # hard-category and mutual-distillation terms need >= 2 experts) on
    # instance-balanced sampling, NCL's augmentation, batch 64 and schedule
    'ncl_single': [
        Stage('ncl_single', NCL_DISTILL_CONFIG,
              overrides="model = dict(_delete_=True, type='ImageClassifier',"
              "\n    backbone={{{{_base_.model.backbone}}}},"
              "\n    neck={{{{_base_.model.neck}}}},"
              "\n    head=dict(type='LinearClsHead', num_classes=10, "
              "in_channels=64, init_cfg=None,"
              "\n              loss=dict(type='BalancedSoftmaxLoss', "
              "tau=1.0)),"
              "\n    data_preprocessor="
              "{{{{_base_.model.data_preprocessor}}}})\n"
              # after the common overrides' train_dataloader: update it
              "train_dataloader.update(sampler=dict(_delete_=True, "
              "type='DefaultSampler', shuffle=True))\n"),
    ],
    # the control of ncl_distill: its exact config (CE on class-balanced
    # resampling, the same network, augmentation and schedule) without the
    # teacher, i.e. what the KD term adds
    'ncl_distill_no_kd': [
        Stage('ncl_distill_no_kd', NCL_DISTILL_CONFIG,
              overrides="model = dict(_delete_=True, type='ImageClassifier',"
              "\n    backbone={{{{_base_.model.backbone}}}},"
              "\n    neck={{{{_base_.model.neck}}}},"
              "\n    head={{{{_base_.model.head}}}},"
              "\n    data_preprocessor="
              "{{{{_base_.model.data_preprocessor}}}})\n"),
    ],
}

PUBLISHED = {  # CIFAR-10-LT ratio 100, ResNet-32, top-1 (%)
    'ce': '70.4',
    'ncl': '84.7 single / 85.5 ensemble',
}


# written into a stage's work dir when it finishes (``--resume`` reads it)
STAGE_RECORD = 'accuracy_stage.json'


def _common_overrides(args, finetune: bool, data_root: str) -> str:
    """Config text every stage gets: data, workers, seed, budget."""
    data = f"data_root={data_root!r}, check_md5=False"
    if args.tiny:
        data_train = data + ', max_per_class=12, imbalance_ratio=10.'
        data_val = data + ', max_per_class=4, imbalance_ratio=10.'
    else:
        data_train = data_val = data
    lines = [
        f"train_dataloader = dict(num_workers={args.workers}, "
        f"persistent_workers={args.workers > 0}, "
        f"dataset=dict({data_train}))",
        f"val_dataloader = dict(num_workers={args.workers}, "
        f"persistent_workers={args.workers > 0}, "
        f"dataset=dict({data_val}))",
        "test_dataloader = val_dataloader",
        f"randomness = dict(seed={getattr(args, 'seed', 0)}, "
        "deterministic=False)",
        "default_hooks = dict(logger=dict(interval=20), "
        "checkpoint=dict(interval=1, max_keep_ckpts=1))",
    ]
    if args.tiny:
        lines.append("train_dataloader.update(batch_size=8)")
        lines.append("val_dataloader.update(batch_size=16)")
    if args.budget == 'cpu':
        epochs = args.ft_epochs if finetune else args.epochs
        warm = 0 if finetune or epochs < 2 else 1
        sched = []
        if warm:
            sched.append("dict(type='LinearLR', start_factor=0.1, "
                         "by_epoch=True, begin=0, end=1, "
                         "convert_to_iter_based=True)")
        sched.append(f"dict(type='CosineAnnealingLR', by_epoch=True, "
                     f"begin={warm}, end={epochs}, T_max={epochs - warm}, "
                     f"eta_min=0., convert_to_iter_based=True)")
        lines += [
            f"train_cfg = dict(max_epochs={epochs}, val_interval={epochs})",
            "param_scheduler = [" + ', '.join(sched) + "]",
        ]
    return '\n'.join(lines) + '\n'


def _last_checkpoint(work: str) -> str:
    path = osp.join(work, 'last_checkpoint')
    if osp.isfile(path):
        with open(path) as f:
            return f.read().strip()
    ckpts = sorted(glob.glob(osp.join(work, 'epoch_*.pth')),
                   key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
    if not ckpts:
        raise RuntimeError(f'no checkpoint in {work}')
    return ckpts[-1]


def _scalars(work: str) -> List[dict]:
    rows = []
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def _images_per_s(work: str, gpus: int) -> Optional[float]:
    """Median training throughput (batch / iteration time)."""
    cfg = glob.glob(osp.join(work, '*.py'))
    rows = [r for r in _scalars(work) if 'loss' in r and 'time' in r]
    if not rows or not cfg:
        return None
    from mmengine.config import Config
    batch = Config.fromfile(
        cfg[0], import_custom_modules=False).train_dataloader.batch_size
    return round(batch * gpus / statistics.median(r['time'] for r in rows),
                 1)


def _last_per_class(work: str) -> str:
    """The newest ``per_class_accuracy.json`` a stage's runs wrote."""
    paths = glob.glob(osp.join(work, '*', 'per_class_accuracy.json'))
    if not paths:
        raise RuntimeError(f'no per_class_accuracy.json under {work}')
    return max(paths, key=lambda p: osp.basename(osp.dirname(p)))


def per_class_rows(per_class_path: str) -> List[dict]:
    """``[{train_count, top1}]`` per class from a ``per_class_accuracy.json``
    (kept in ``accuracy.json``, so a table can be rebuilt, or merged with
    another run's, without the work dirs)."""
    with open(per_class_path) as f:
        rows = json.load(f)['per_class']
    return [dict(train_count=r['train_count'], top1=r['top1']) for r in rows]


def regroup(per_class: Union[str, Sequence[dict]], many_thr: int,
            few_thr: int) -> Dict[str, Any]:
    """Many / medium / few accuracy (%) under other shot thresholds.

    Uses the per-class top-1 accuracy and training count that
    ``ShotAccuracy`` wrote, and :func:`ltplug.evaluation.shot_groups` (many
    ``> many_thr``, few ``< few_thr``); a group's accuracy is the mean of
    its classes' accuracies, nan for an empty group.

    Args:
        per_class (str | Sequence[dict]): A ``per_class_accuracy.json``, or
            its rows (:func:`per_class_rows`).
        many_thr (int): Many-shot threshold.
        few_thr (int): Few-shot threshold.

    Returns:
        dict[str, float]: ``many``, ``medium``, ``few`` and ``sizes``
        (classes per group, a dict).
    """
    from ltplug.evaluation import group_accuracy, shot_groups
    rows = (per_class_rows(per_class) if isinstance(per_class, str)
            else per_class)
    groups = shot_groups([r['train_count'] for r in rows], many_thr,
                         few_thr)
    out: Dict[str, Any] = group_accuracy(
        [float('nan') if r['top1'] is None else r['top1'] for r in rows],
        groups)
    out['sizes'] = {k: int(v.sum()) for k, v in groups.items()}
    return out


def stage_fields() -> Dict[str, str]:
    """The config paths a stage's overrides may name."""
    return dict(teacher_config=osp.join(ROOT, CBD_TEACHER.config),
                ssd_stage2_config=osp.join(ROOT, SSD_STAGE2.config),
                ncl_config=osp.join(ROOT, NCL.config))


def write_stage_config(path: str, stage: Stage, args, data_root: str,
                       fields: Dict[str, str]) -> None:
    """Write the config a stage trains with: its method config plus the
    common overrides plus its own (checkpoint paths filled from ``fields``).
    """
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(ROOT, stage.config)!r}]\n")
        f.write(_common_overrides(args, stage.finetune, data_root))
        f.write(stage.overrides.format(**fields))


def run_stage(stage: Stage, args, done: Dict[str, dict],
              data_root: str, extra_args: Sequence[str] = ()) -> dict:
    """Train one stage (once) and return its record.

    Args:
        stage (Stage): The stage.
        args (Namespace): This script's arguments (``work_dir``, ``gpus``,
            budget, workers).
        done (dict): Records of the stages already trained, by name.
        data_root (str): Folder holding ``cifar-10-batches-py``.
        extra_args (Sequence[str]): More ``tools/train.py`` arguments (e.g.
            ``--amp``, ``--cfg-options ...``). Defaults to ().

    Returns:
        dict: ``work_dir``, ``wall_s``, ``images_per_s``, ``metrics`` (the
        last validation) and ``per_class`` (its per-class file).
    """
    if stage.name in done:
        return done[stage.name]
    work = osp.join(args.work_dir, stage.name)
    cfg_dir = osp.join(args.work_dir, 'configs')
    os.makedirs(cfg_dir, exist_ok=True)
    needed = {k: _last_checkpoint(done[v]['work_dir'])
              for k, v in stage.needs.items()}
    fields = dict(needed, **stage_fields())
    cfg_path = osp.join(cfg_dir, f'{stage.name}.py')
    write_stage_config(cfg_path, stage, args, data_root, fields)
    with open(cfg_path) as f:
        cfg_text = f.read() + '\n# train.py ' + ' '.join(extra_args)
    inputs = stage_inputs(cfg_path, needed)
    if getattr(args, 'resume', False):
        record = finished_stage(work, cfg_text, inputs)
        if record is None and osp.isfile(osp.join(work, STAGE_RECORD)):
            print(f'[accuracy] {stage.name}: its record in {work} was '
                  'trained with another config or starting checkpoint: '
                  'trained again', flush=True)
        if record is not None:
            print(f'[accuracy] {stage.name}: finished before with the same '
                  f'config, reused ({work})', flush=True)
            done[stage.name] = record
            return record
    if args.gpus > 1:
        cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg_path,
               str(args.gpus), '--work-dir', work]
    else:
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
               cfg_path, '--work-dir', work]
    cmd += list(extra_args)
    print(f'[accuracy] {stage.name}: {" ".join(cmd)}', flush=True)
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    t0 = time.time()
    log = osp.join(args.work_dir, f'{stage.name}.log')
    os.makedirs(work, exist_ok=True)
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f,
                              stderr=subprocess.STDOUT)
    wall = time.time() - t0
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'stage {stage.name} failed (exit '
                           f'{proc.returncode}); log {log}:\n{tail}')
    vals = [r for r in _scalars(work) if 'shot/top1' in r]
    if not vals:
        raise RuntimeError(f'stage {stage.name}: no validation metrics in '
                           f'{work}')
    record = dict(work_dir=work, wall_s=round(wall, 1),
                  images_per_s=_images_per_s(work, args.gpus),
                  metrics=vals[-1], per_class=_last_per_class(work))
    print(f'[accuracy] {stage.name}: {wall:.0f} s, top-1 '
          f'{vals[-1]["shot/top1"]:.2f}', flush=True)
    with open(osp.join(work, STAGE_RECORD), 'w') as f:
        json.dump(dict(record, config_text=cfg_text, inputs=inputs), f,
                  indent=1)
    done[stage.name] = record
    return record


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def stage_inputs(cfg_path: str, needed: Dict[str, str]) -> dict:
    """What a stage's result depends on beyond its config file's text.

    The stage config names its method config by path (``_base_``), so its
    text stays the same when that file, or one of its bases, is edited; and
    a teacher checkpoint keeps its path when its stage is trained again.

    Args:
        cfg_path (str): The stage config.
        needed (dict): ``{placeholder: checkpoint path}`` of the stages it
            starts from.

    Returns:
        dict: ``config_sha256`` (the config resolved through its bases) and
        ``needs`` (``{placeholder: sha256 of the checkpoint}``, None for
        a file that is not there).
    """
    from mmengine.config import Config
    resolved = json.dumps(Config.fromfile(cfg_path).to_dict(),
                          sort_keys=True, default=repr)
    return dict(
        config_sha256=hashlib.sha256(resolved.encode()).hexdigest(),
        needs={k: _file_sha256(v) if osp.isfile(v) else None
               for k, v in sorted(needed.items())})


def finished_stage(work: str, cfg_text: str,
                   inputs: Optional[dict] = None) -> Optional[dict]:
    """The record of a stage that finished in ``work`` with exactly this
    config (``--resume``), or None: a stage whose config changed (another
    seed, budget, checkpoint, override, or an edited base config) or whose
    starting checkpoints changed is trained again.

    Args:
        work (str): The stage's work dir.
        cfg_text (str): The stage config's text (plus its extra
            ``tools/train.py`` arguments) about to be trained.
        inputs (dict, optional): :func:`stage_inputs` of the stage about to
            be trained; a record must hold the same. A record written
            before these were kept has none, and is not reused. Defaults
            to None (the text alone decides).

    Returns:
        dict | None: The stage record ``run_stage`` returned then.
    """
    path = osp.join(work, STAGE_RECORD)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if record.pop('config_text', None) != cfg_text:
        return None
    if inputs is not None and record.pop('inputs', None) != inputs:
        return None
    record.pop('inputs', None)
    if not osp.isfile(record.get('per_class') or ''):
        return None
    return record


def mean_std(
        values: Sequence[Any]) -> Tuple[Optional[float], Optional[float], int]:
    """Mean, sample standard deviation (n - 1; None for one value) and
    number of the values that are numbers (None and nan left out)."""
    vals = [float(v) for v in values
            if v is not None and not (isinstance(v, float) and v != v)]
    if not vals:
        return None, None, 0
    std = statistics.stdev(vals) if len(vals) > 1 else None
    return statistics.fmean(vals), std, len(vals)


def fmt_runs(values: Sequence[Any], digits: int = 2) -> str:
    """One table cell over seeds: ``'m'`` for one run, ``'m ± s'`` (sample
    std) for several, ``'-'`` for none."""
    mean, std, _ = mean_std(values)
    if mean is None:
        return '-'
    if std is None:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def seed_runs(result: dict) -> Dict[str, dict]:
    """A method's runs by seed (an ``accuracy.json`` written before
    ``--seeds`` holds one seed-0 run at the top level)."""
    return result.get('per_seed') or {'0': result}


#: the table's columns after the method: (header, key or function of one
#: run, digits)
COLUMNS = [
    ('top-1', lambda r: r['metrics'].get('shot/top1'), 2),
    ('many', lambda r: r['groups']['many'], 2),
    ('medium', lambda r: r['groups']['medium'], 2),
    ('few', lambda r: r['groups']['few'], 2),
    ('wall time (s, all stages)', lambda r: r['wall_s'], 0),
    ('images/s (train, last stage)', lambda r: r.get('images_per_s'), 2),
    ('images/s (inference)', lambda r: r.get('infer_images_per_s'), 1),
    ('x NCL ensemble (inference)', lambda r: r.get('infer_ratio'), 2),
]


def _best_expert(run: dict) -> dict:
    """NCL's best single expert as a run of its own: its top-1 only (its
    groups are not computed: the per-class file is the ensemble's)."""
    nan = float('nan')
    top1 = run['metrics'].get('expert/best_single_top1')
    return dict(metrics={'shot/top1': top1}, wall_s=run['wall_s'],
                groups=dict(many=nan, medium=nan, few=nan))


def table_rows(results: Dict[str, dict]) -> List[Tuple[str, List[dict]]]:
    """``(row name, runs)`` in METHODS order; ``ncl`` is followed by its
    best single expert (``ncl best expert``) when ExpertAccuracy ran."""
    rows = []
    for name in sorted(results, key=list(METHODS).index):
        runs = list(seed_runs(results[name]).values())
        rows.append((name, runs))
        if name == 'ncl' and any('expert/best_single_top1' in r['metrics']
                                 for r in runs):
            rows.append(('ncl best expert', [_best_expert(r) for r in runs]))
    return rows


def summarize(results: Dict[str, dict]) -> Dict[str, dict]:
    """Per row: ``{column: {mean, std, n}}`` over its seeds (into
    ``accuracy.json``)."""
    out = {}
    for name, runs in table_rows(results):
        out[name] = {}
        for header, get, _ in COLUMNS:
            mean, std, n = mean_std([get(r) for r in runs])
            out[name][header] = dict(mean=mean, std=std, n=n)
    return out


def write_table(results: Dict[str, dict], args) -> str:
    """Markdown table (also written to ``accuracy.md``): mean ± sample std
    over the seeds that ran."""
    budget = (f'CPU budget: {args.epochs} epochs from scratch, '
              f'{args.ft_epochs} for fine-tuning stages'
              if args.budget == 'cpu' else 'full schedules of the configs')
    data = ('TINY smoke run (12 images per class, ratio 10, 4 test images '
            'per class): the figures mean nothing'
            if args.tiny else 'CIFAR-10-LT ratio 100, full test set')
    row_seeds = {name: sorted(seed_runs(results[name]), key=int)
                 for name in results}
    seeds = sorted({int(x) for v in row_seeds.values() for x in v})
    if len(seeds) == 1:
        spread = f'seed {seeds[0]}, one run per method'
    else:
        spread = ('mean ± sample std (n - 1) over the seeds in the seeds '
                  'column; a row with one seed is a single run')
    lines = [
        f'{data}; ResNet-32, {spread}; {budget}.',
        '',
        '| method | seeds | ' + ' | '.join(h for h, _, _ in COLUMNS) +
        ' | published top-1 |',
        '|---' * (len(COLUMNS) + 3) + '|',
    ]
    sizes = None
    for name, runs in table_rows(results):
        if name in results:
            sizes = runs[-1]['groups'].get('sizes', sizes)
        own = row_seeds.get(name, row_seeds.get('ncl', []))
        cells = [', '.join(own)]
        cells += [fmt_runs([get(r) for r in runs], d) for _, get, d in COLUMNS]
        lines.append(f'| {name} | ' + ' | '.join(cells) +
                     f" | {PUBLISHED.get(name, '-')} |")
    if sizes is not None:
        lines += [
            '',
            f'many / medium / few: more than {args.many_thr}, '
            f'{args.few_thr} to {args.many_thr}, fewer than {args.few_thr} '
            f"training images ({sizes['many']} / {sizes['medium']} / "
            f"{sizes['few']} classes; mean of per-class top-1).",
        ]
    if any(name.startswith('ncl') for name in results):
        lines += [
            '',
            'ncl: the 3-expert ensemble (mean logits); ncl best expert: its '
            'best single expert (ExpertAccuracy; top-1 only); ncl_single: '
            'one ResNet-32 trained alone with NCL\'s recipe for one expert '
            '(Balanced Softmax, instance-balanced sampling); ncl_distill: '
            'one ResNet-32 distilled from the ncl run of the same budget and '
            'seed (CE + KD, T = 2, to the ensemble\'s mean logits, on '
            'class-balanced resampling); ncl_distill_bs: the same with '
            'Balanced Softmax + KD on instance-balanced sampling; '
            'ncl_distill_no_kd: ncl_distill without '
            'the teacher (CE on class-balanced resampling); all with NCL\'s '
            'augmentation (RandomCrop 32 pad 4, flip, AutoAugment CIFAR10 '
            'policy, Cutout 16), per sample in the dataloader except '
            'ncl_batchaug: ncl with the same augmentation drawn per sample '
            'on whole batches (BatchAugDataPreprocessor).',
        ]
    if any(name.startswith('ssd_stage1') for name in results):
        lines += [
            '',
            'ssd_stage1: SSD stage I alone (CE + MoCo, top-1 of its jointly '
            'trained linear classifier), its two views (pad-4 crop, flip, '
            'ColorJitter; MoCo v2: RandomResizedCrop, ColorJitter, '
            'grayscale, Gaussian blur, flip) per sample in the dataloader; '
            'ssd_stage1_batchaug: the same views drawn per sample on whole '
            'batches (BatchAugDataPreprocessor).',
        ]
    if results:
        lines += [
            '',
            'Inference images/s: a timed predict loop '
            'of every final model in one process (batch '
            f'{getattr(args, "infer_batch", "-")}), ratios against the '
            'ensemble of the same run.',
        ]
    return '\n'.join(lines) + '\n'


def prepare_data(args) -> str:
    """The CIFAR-10 folder to use (writes the shared copy if needed)."""
    if args.data_root:
        if not osp.isdir(osp.join(args.data_root, 'cifar-10-batches-py')):
            raise SystemExit(f'{args.data_root} has no cifar-10-batches-py '
                             '(the official python layout)')
        return osp.abspath(args.data_root)
    if not osp.isdir(args.shared_cifar10):
        raise SystemExit(f'no --data-root given and {args.shared_cifar10} '
                         'does not exist')
    root = osp.abspath(osp.join(args.work_dir, 'cifar10'))
    if not osp.isdir(osp.join(root, 'cifar-10-batches-py')):
        print(f'[accuracy] writing CIFAR-10 from {args.shared_cifar10} '
              f'into {root}', flush=True)
        sys.path.insert(0, args.shared_cifar10)
        import load_cifar10
        (x_tr, y_tr), (x_te, y_te), classes = load_cifar10.load()
        load_cifar10.write_pickles(root, x_tr, y_tr, x_te, y_te, classes)
    return root


def write_outputs(results: Dict[str, dict], args) -> str:
    """Write ``accuracy.md`` and ``accuracy.json``; return the table."""
    table = write_table(results, args)
    with open(osp.join(args.work_dir, 'accuracy.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.work_dir, 'accuracy.json'), 'w') as f:
        json.dump(dict(budget=args.budget, epochs=args.epochs,
                       ft_epochs=args.ft_epochs, tiny=args.tiny,
                       many_thr=args.many_thr, few_thr=args.few_thr,
                       seeds=sorted({int(k) for r in results.values()
                                     for k in r.get('per_seed', {})} |
                                    set(getattr(args, 'seeds', [0]))),
                       summary=summarize(results), results=results), f,
                  indent=2)
    return table


def load_predictor(config: str, checkpoint: str):
    """A trained model for prediction: built from a run's config without
    its teachers (they do not predict), the checkpoint loaded, eval mode."""
    import ltplug  # noqa: F401  (registers the components)
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    from ltplug.models.utils.teacher import teacher_model_cfg
    init_default_scope('mmpretrain')
    cfg = teacher_model_cfg(config, config)
    if 'teachers' in cfg or 'teacher' in cfg:
        cfg.pop('teacher', None)
        cfg['teachers'] = []
    if 'init_checkpoint' in cfg:
        cfg['init_checkpoint'] = None
    model = MODELS.build(cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=False,
                    logger='silent')
    return model.eval()


def inference_speed(models: Dict[str, Any], batch: int, iters: int,
                    rounds: int) -> Dict[str, float]:
    """Images/s of each model's predict forward on one random CIFAR batch.

    The models run in one process, round-robin (every round times each
    model for ``iters`` forwards after one warm-up forward), so that they
    share the machine's state; the median over ``rounds`` is kept.

    Args:
        models (dict): ``{name: model}`` (eval mode, with a data
            preprocessor).
        batch (int): Images per forward.
        iters (int): Timed forwards per model and round.
        rounds (int): Rounds.

    Returns:
        dict[str, float]: Images/s by name.
    """
    import torch
    g = torch.Generator().manual_seed(0)
    # one stacked batch with no data samples, as default_collate gives it
    # (SelfSupDataPreprocessor, SSD stage I's, takes nothing else)
    images = torch.randint(0, 256, (batch, 3, 32, 32), generator=g,
                           dtype=torch.uint8)
    times: Dict[str, List[float]] = {name: [] for name in models}
    with torch.no_grad():
        inputs = {name: m.data_preprocessor(
                      dict(inputs=images, data_samples=None),
                      False)['inputs']
                  for name, m in models.items()}
        for name, m in models.items():
            m(inputs[name], mode='predict')  # warm-up
        for _ in range(rounds):
            for name, m in models.items():
                t0 = time.perf_counter()
                for _ in range(iters):
                    m(inputs[name], mode='predict')
                times[name].append(time.perf_counter() - t0)
    return {name: round(batch * iters / statistics.median(t), 1)
            for name, t in times.items()}


def measure_inference(records: Dict[str, dict], args) -> None:
    """Add ``infer_images_per_s`` and ``infer_ratio`` (against ``ncl``, the
    ensemble, when it ran) to each method's run record, in place."""
    models = {m: load_predictor(r['config'], _last_checkpoint(r['work_dir']))
              for m, r in records.items()}
    speed = inference_speed(models, args.infer_batch, args.infer_iters,
                            args.infer_rounds)
    base = speed.get('ncl')
    for m, r in records.items():
        r['infer_images_per_s'] = speed[m]
        r['infer_ratio'] = round(speed[m] / base, 3) if base else None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--methods', nargs='*', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0],
                        help='run every method once per seed; the table '
                        'gives mean ± sample std')
    parser.add_argument('--budget', choices=['cpu', 'full'], default='cpu')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--ft-epochs', type=int, default=2)
    parser.add_argument('--data-root', default=None)
    parser.add_argument('--shared-cifar10', default=SHARED_CIFAR10)
    parser.add_argument('--work-dir', default='work_dirs/accuracy')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--many-thr', type=int, default=1500,
                        help='many-shot: more training images than this')
    parser.add_argument('--few-thr', type=int, default=200,
                        help='few-shot: fewer training images than this')
    parser.add_argument('--infer-batch', type=int, default=128,
                        help='images per forward of the inference timing')
    parser.add_argument('--infer-iters', type=int, default=10,
                        help='timed forwards per model and round')
    parser.add_argument('--infer-rounds', type=int, default=3)
    parser.add_argument('--no-infer-speed', action='store_true',
                        help='skip the inference timing')
    parser.add_argument('--resume', action='store_true',
                        help='reuse every stage that finished in '
                        '--work-dir with exactly the config it would train '
                        'now (its accuracy_stage.json); train the rest')
    parser.add_argument('--table-only', action='store_true',
                        help="rebuild the table from --work-dir's "
                        'accuracy.json and per-class files, no training')
    parser.add_argument('--merge', nargs='+', metavar='ACCURACY_JSON',
                        help='with --table-only: add the per-seed runs of '
                        'these accuracy.json files (e.g. seeds run in '
                        'another work dir or session) to the table')
    parser.add_argument('--tiny', action='store_true',
                        help='a few images per class, 1 epoch: smoke test')
    args = parser.parse_args(argv)
    if not args.methods:
        parser.error('--methods needs at least one method')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds repeats a seed: {args.seeds}')
    if args.merge and not args.table_only:
        parser.error('--merge needs --table-only')
    if args.few_thr > args.many_thr:
        parser.error(f'--few-thr ({args.few_thr}) must not exceed '
                     f'--many-thr ({args.many_thr})')
    if args.epochs < 1 or args.ft_epochs < 1:
        parser.error('--epochs and --ft-epochs must be >= 1')
    if min(args.infer_batch, args.infer_iters, args.infer_rounds) < 1:
        parser.error('--infer-batch, --infer-iters and --infer-rounds must '
                     'be >= 1')
    if args.tiny:
        args.epochs, args.ft_epochs, args.workers = 1, 1, 0
        args.infer_batch, args.infer_iters, args.infer_rounds = 8, 1, 1
    return args


def table_only(args) -> str:
    """Rebuild the outputs from a run's ``accuracy.json`` (plus the runs of
    ``--merge``): the groups are recomputed with this call's thresholds
    from each run's per-class rows (kept in ``accuracy.json``; read from
    the last stage's per-class file for a file written before they were);
    everything else is kept."""
    path = osp.join(args.work_dir, 'accuracy.json')
    if not osp.isfile(path):
        raise SystemExit(f'--table-only: {path} does not exist')
    with open(path) as f:
        run = json.load(f)
    for key in ('budget', 'epochs', 'ft_epochs', 'tiny'):
        setattr(args, key, run[key])
    results = run['results']
    for result in results.values():
        if 'per_seed' not in result:  # the layout before --seeds
            run0 = {k: v for k, v in result.items() if k != 'stages'}
            stages = result.get('stages', [])
            result.clear()
            result.update(stages=stages, per_seed={'0': run0})
        for seed, r in result['per_seed'].items():
            if not r.get('per_class_rows'):
                per_class = r.get('per_class') or _last_per_class(
                    osp.join(seed_dir(run.get('seeds', [0]), args.work_dir,
                                      int(seed)), result['stages'][-1]))
                r['per_class'] = per_class
                r['per_class_rows'] = per_class_rows(per_class)
    for other in args.merge or ():
        merge_run(results, other, args)
    for result in results.values():
        for r in result['per_seed'].values():
            r['groups'] = regroup(r['per_class_rows'], args.many_thr,
                                  args.few_thr)
    args.seeds = sorted({int(s) for result in results.values()
                         for s in result['per_seed']})
    return write_outputs(results, args)


def merge_run(results: Dict[str, dict], path: str, args) -> None:
    """Add the per-seed runs of another ``accuracy.json`` (``--merge``) to
    ``results``: same budget and epochs only, and never a method and seed
    that both runs hold.

    Args:
        results (dict): The runs so far, by method (changed in place).
        path (str): The other run's ``accuracy.json``.
        args (Namespace): This call's arguments (budget, epochs, tiny).

    Raises:
        SystemExit: The file is missing, its budget differs, a run has no
            per-class rows, or a method and seed is in both.
    """
    if not osp.isfile(path):
        raise SystemExit(f'--merge: {path} does not exist')
    with open(path) as f:
        other = json.load(f)
    for key in ('budget', 'epochs', 'ft_epochs', 'tiny'):
        if other.get(key) != getattr(args, key):
            raise SystemExit(f'--merge: {path} has {key}={other.get(key)!r}'
                             f', this run {getattr(args, key)!r}')
    for method, result in other['results'].items():
        into = results.setdefault(
            method, dict(stages=result['stages'], per_seed={}))
        for seed, r in seed_runs(result).items():
            if seed in into['per_seed']:
                raise SystemExit(f'--merge: {method} seed {seed} is in '
                                 f'both runs ({path})')
            if not r.get('per_class_rows'):
                raise SystemExit(f'--merge: {method} seed {seed} in {path} '
                                 'has no per_class_rows (rebuild that run '
                                 'with --table-only first)')
            into['per_seed'][seed] = r


def seed_dir(seeds: Sequence[int], work_dir: str, seed: int) -> str:
    """Where one seed's stages run: ``work_dir`` for ``--seeds 0`` (the
    layout before ``--seeds``), else ``<work_dir>/seed<S>``."""
    if list(seeds) == [0]:
        return work_dir
    return osp.join(work_dir, f'seed{seed}')


def run_seed(seed: int, args, data_root: str,
             results: Dict[str, dict]) -> None:
    """Train every method of ``args.methods`` with ``seed`` into
    ``results[method]['per_seed'][str(seed)]`` (the outputs rewritten after
    each method), then time the final models' inference."""
    run_args = argparse.Namespace(**vars(args))
    run_args.seed = seed
    run_args.work_dir = seed_dir(args.seeds, args.work_dir, seed)
    os.makedirs(run_args.work_dir, exist_ok=True)
    done: Dict[str, dict] = {}
    finals: Dict[str, dict] = {}
    for method in args.methods:
        stages = METHODS[method]
        records = [run_stage(s, run_args, done, data_root) for s in stages]
        result = results.setdefault(
            method, dict(stages=[s.name for s in stages], per_seed={}))
        finals[method] = result['per_seed'][str(seed)] = dict(
            work_dir=records[-1]['work_dir'],
            config=osp.join(run_args.work_dir, 'configs',
                            f'{stages[-1].name}.py'),
            wall_s=sum(r['wall_s'] for r in records),
            images_per_s=records[-1]['images_per_s'],
            metrics={k: v for k, v in records[-1]['metrics'].items()
                     if k.startswith(('shot/', 'expert/'))},
            per_class=records[-1]['per_class'],
            per_class_rows=per_class_rows(records[-1]['per_class']))
        finals[method]['groups'] = regroup(
            finals[method]['per_class_rows'], args.many_thr, args.few_thr)
        # Rewritten after every method, so a long run that is stopped
        # still leaves the rows it finished.
        write_outputs(results, args)
    if not args.no_infer_speed:
        measure_inference(finals, args)
        write_outputs(results, args)


def previous_results(args) -> Dict[str, dict]:
    """With ``--resume``: the results ``<work-dir>/accuracy.json`` holds
    already, kept in the rewritten outputs, so a run of some methods or
    seeds does not drop the rows of the others (its own methods and seeds
    replace theirs).

    Args:
        args (Namespace): This run's arguments.

    Returns:
        dict: The previous results by method, or ``{}`` without a file.

    Raises:
        SystemExit: The file was written with another budget, number of
            epochs or ``--tiny``.
    """
    path = osp.join(args.work_dir, 'accuracy.json')
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        run = json.load(f)
    for key in ('budget', 'epochs', 'ft_epochs', 'tiny'):
        if run.get(key) != getattr(args, key):
            raise SystemExit(
                f'--resume: {path} was written with {key}={run.get(key)!r}, '
                f'this run has {getattr(args, key)!r}; use another '
                '--work-dir')
    results = {m: r for m, r in run.get('results', {}).items()
               if 'per_seed' in r and m in METHODS}
    if results:
        print(f'[accuracy] --resume: keeping the results of {path} '
              f'({", ".join(sorted(results))})', flush=True)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.table_only:
        print(table_only(args))
        return 0
    os.makedirs(args.work_dir, exist_ok=True)
    results = previous_results(args) if args.resume else {}
    data_root = prepare_data(args)
    for seed in args.seeds:
        run_seed(seed, args, data_root, results)
    print(write_outputs(results, args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
