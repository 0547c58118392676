# Copyright (c) ltplug contributors. All rights reserved.
"""Every training command printed in the READMEs keeps its config's
schedule: the global batch it runs (processes x
``train_dataloader.batch_size`` after its ``--cfg-options``) is the one in
the config name (``{gpus}xb{batch}`` -> gpus x batch), or it passes
``--auto-scale-lr`` and the config's ``auto_scale_lr.base_batch_size`` is
that global batch (so the lr is scaled by actual / named global batch).

What is parsed, and what is not:

- Files: ``README.md`` and ``configs/*/README.md``; in each, the fenced
  blocks whose info string is ``bash``, ``shell``, ``sh`` or ``console``.
  Prose outside those blocks (e.g. "swap ... for dist_train.sh ... 8") is
  NOT checked.
- Shell: backslash-newline continuations, ``#`` comments, quotes (with
  ``shlex``), statements separated by newlines, ``;``, ``&&``, ``||`` and
  ``|``; ``NAME=value`` (and ``export NAME=value``) statements, which set
  variables for the rest of the FILE (a reader runs a README's blocks in one
  shell, e.g. configs/cbd/README.md's second block uses ``$T`` from the
  first); ``NAME=value cmd`` prefixes (that command only); ``$NAME``,
  ``${NAME}`` and ``${NAME:-default}``; ``for NAME in WORDS; do ...; done``
  loops, nested or on one line. Not supported: ``if``/``while``/``case``,
  functions, ``$(...)``, globs, arithmetic. A launcher command whose config
  or process count still holds a ``$`` after expansion FAILS (it is not
  skipped), so an unsupported construct cannot hide a command.
- Commands: ``[bash|sh] [./]tools/dist_train.sh CONFIG N [args]`` runs
  ``N x NNODES`` processes (``NNODES`` from a prefix or variable, default 1,
  as the script); ``[bash|sh] tools/slurm_train.sh PARTITION JOB CONFIG
  WORK_DIR [args]`` runs ``GPUS`` processes (prefix or variable, default
  the script's own); ``python tools/train.py CONFIG [args]`` runs one
  process. ``dist_test.sh`` / ``test.py`` commands are not checked (testing
  has no schedule).
- Arguments go through tools/train.py's own ``parse_args`` and
  ``merge_args`` (the argv each launcher script builds), so
  ``--cfg-options`` and ``--auto-scale-lr`` act on the config exactly as
  they do in a run.
"""
import functools
import importlib.util
import os.path as osp
import re
import shlex
from glob import glob
from typing import Dict, List, NamedTuple, Optional

import pytest
from mmengine.config import Config

from tests.helpers import ROOT

FENCES = ('bash', 'shell', 'sh', 'console')
READMES = ['README.md'] + sorted(
    osp.relpath(p, ROOT) for p in glob(osp.join(ROOT, 'configs', '*',
                                                'README.md')))
NAMED_BATCH = re.compile(r'_(\d+)xb(\d+)[-_.]')


class Command(NamedTuple):
    source: str  # README:line
    tool: str  # dist_train.sh | slurm_train.sh | train.py
    world_size: int
    argv: List[str]  # what the launcher passes to tools/train.py


def _slurm_default_gpus() -> int:
    text = open(osp.join(ROOT, 'tools', 'slurm_train.sh')).read()
    return int(re.search(r'GPUS=\$\{GPUS:-(\d+)\}', text).group(1))


def bash_blocks(text: str):
    """``(first line number, block text)`` of every shell code block."""
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        m = re.match(r'^\s*```\s*([\w-]*)', lines[i])
        if not m:
            i += 1
            continue
        lang, start, body = m.group(1).lower(), i + 2, []
        i += 1
        while i < len(lines) and not re.match(r'^\s*```', lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang in FENCES:
            yield start, '\n'.join(body)


def statements(start: int, block: str):
    """``(line number, tokens)`` of each simple statement, in order; the
    shell keywords ``do`` / ``done`` are statements of their own."""
    out = []
    lines = block.split('\n')
    i = 0
    while i < len(lines):
        lineno, line = start + i, lines[i]
        while line.endswith('\\') and i + 1 < len(lines):
            i += 1
            line = line[:-1] + ' ' + lines[i]
        i += 1
        if line.lstrip().startswith('$ '):  # console prompt
            line = line.lstrip()[2:]
        lex = shlex.shlex(line, posix=True, punctuation_chars=';&|')
        lex.whitespace_split = True
        lex.commenters = '#'
        current: List[str] = []
        for tok in list(lex) + [';']:
            if tok in (';', '&&', '||', '|', '&', ';;'):
                if current:
                    out.append((lineno, current))
                current = []
            elif not current and tok in ('do', 'then', 'else'):
                out.append((lineno, [tok]))
            else:
                current.append(tok)
    return out


_VAR = re.compile(r'\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)')
_ASSIGN = re.compile(r'^[A-Za-z_]\w*=')


def expand(word: str, env: Dict[str, str]) -> str:
    def sub(m):
        name = m.group(1) or m.group(3)
        if name in env:
            return env[name]
        if m.group(2) is not None:
            return m.group(2)
        return m.group(0)  # unknown: left as is (and caught later)
    return _VAR.sub(sub, word)


def _loop_end(stmts, i: int) -> int:
    """Index of the ``done`` closing the ``do`` at ``stmts[i]``."""
    depth = 0
    for j in range(i, len(stmts)):
        word = stmts[j][1][0]
        if word == 'do':
            depth += 1
        elif word == 'done':
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f'line {stmts[i][0]}: `do` without `done`')


def run(stmts, env: Dict[str, str], found: list) -> None:
    """Interpret the statements: variables, for loops; every other
    statement is recorded as ``(line, env prefix, expanded tokens)``."""
    i = 0
    while i < len(stmts):
        lineno, toks = stmts[i]
        if toks[0] == 'for' and len(toks) >= 3 and toks[2] == 'in':
            assert i + 1 < len(stmts) and stmts[i + 1][1] == ['do'], \
                f'line {lineno}: for without do'
            end = _loop_end(stmts, i + 1)
            body = stmts[i + 2:end]
            words = ' '.join(expand(w, env) for w in toks[3:]).split()
            for word in words:
                env[toks[1]] = word
                run(body, env, found)
            i = end + 1
            continue
        if toks[0] in ('do', 'done'):
            i += 1
            continue
        words = [expand(t, env) for t in toks]
        if words[0] == 'export':
            words = words[1:]
        prefix = {}
        while words and _ASSIGN.match(words[0]):
            name, value = words.pop(0).split('=', 1)
            prefix[name] = value
        if not words:  # plain assignments: for the rest of the file
            env.update(prefix)
        else:
            found.append((lineno, prefix, words))
        i += 1


def _world_var(name: str, prefix, env, default: int, where: str) -> int:
    value = prefix.get(name, env.get(name, str(default)))
    assert value.isdigit(), f'{where}: {name}={value!r} is not a number'
    return int(value)


def to_command(source: str, prefix, env, words) -> Optional[Command]:
    """The train command in ``words``, or None if there is none."""
    for k, word in enumerate(words):
        base = word.split('/')[-1]
        rest = words[k + 1:]
        if base == 'dist_train.sh' and 'tools' in word:
            assert len(rest) >= 2 and rest[1].isdigit(), \
                f'{source}: cannot read CONFIG N from {words}'
            nnodes = _world_var('NNODES', prefix, env, 1, source)
            return Command(source, base, int(rest[1]) * nnodes,
                           [rest[0], '--launcher', 'pytorch'] + rest[2:])
        if base == 'slurm_train.sh' and 'tools' in word:
            assert len(rest) >= 4, f'{source}: cannot parse {words}'
            gpus = _world_var('GPUS', prefix, env, _slurm_default_gpus(),
                              source)
            return Command(source, base, gpus,
                           [rest[2], f'--work-dir={rest[3]}',
                            '--launcher=slurm'] + rest[4:])
        if base == 'train.py' and 'tools' in word and k > 0 and \
                'python' in words[0]:
            assert 'torch.distributed' not in words and \
                'torchrun' not in words[0], \
                f'{source}: torchrun commands are not parsed: {words}'
            return Command(source, base, 1, rest)
    return None


def readme_commands(readme: str) -> List[Command]:
    text = open(osp.join(ROOT, readme), encoding='utf-8').read()
    env: Dict[str, str] = {}
    found: list = []
    for start, block in bash_blocks(text):
        run(statements(start, block), env, found)
    cmds = []
    for lineno, prefix, words in found:
        cmd = to_command(f'{readme}:{lineno}', prefix, env, words)
        if cmd is not None:
            cmds.append(cmd)
    return cmds


def _commands():
    return [c for readme in READMES for c in readme_commands(readme)]


COMMANDS = _commands()


@functools.lru_cache(maxsize=None)
def _load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'ltplug_tools_train', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def named_global_batch(config: str) -> int:
    m = NAMED_BATCH.search(osp.basename(config))
    assert m, (f'{config}: no {{gpus}}xb{{batch}} in the name, so the '
               'intended global batch is unknown')
    return int(m.group(1)) * int(m.group(2))


def effective_config(cmd: Command, monkeypatch) -> Config:
    """The config as tools/train.py builds it from ``cmd.argv``."""
    assert '$' not in ' '.join(cmd.argv[:1]), \
        f'{cmd.source}: unexpanded variable in {cmd.argv[0]}'
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args exports it
    monkeypatch.chdir(ROOT)
    train = _load_train_tool()
    args = train.parse_args(cmd.argv)
    assert osp.isfile(args.config), f'{cmd.source}: no {args.config}'
    return train.merge_args(Config.fromfile(args.config), args)


def check_schedule(cmd: Command, cfg: Config) -> None:
    named = named_global_batch(cmd.argv[0])
    per_process = cfg.train_dataloader.batch_size
    actual = cmd.world_size * per_process
    asl = cfg.get('auto_scale_lr') or {}
    what = (f'{cmd.source}: {cmd.tool} {osp.basename(cmd.argv[0])} on '
            f'{cmd.world_size} process(es) x batch {per_process} = '
            f'{actual} images per step')
    if asl.get('enable', False):
        base = asl.get('base_batch_size')
        assert base == named, (
            f'{what} with --auto-scale-lr, but auto_scale_lr.'
            f'base_batch_size is {base}, not the {named} the config '
            f'name (and its lr) is for: the lr is scaled by {actual}/{base}')
        return
    hint = (f'pass --cfg-options train_dataloader.batch_size='
            f'{named // cmd.world_size}' if named % cmd.world_size == 0
            else f'use a process count that divides {named}')
    assert actual == named, (
        f'{what}, but the config (its lr and schedule) is for {named}: '
        f'{hint}, or add --auto-scale-lr')


@pytest.mark.parametrize(
    'cmd', COMMANDS,
    ids=[f'{i}-{c.source}-{osp.basename(c.argv[0])}'
         for i, c in enumerate(COMMANDS)])
def test_readme_command_keeps_the_global_batch(cmd, monkeypatch):
    check_schedule(cmd, effective_config(cmd, monkeypatch))


@pytest.mark.parametrize(
    'config', sorted({c.argv[0] for c in COMMANDS}))
def test_documented_configs_base_batch_size(config):
    """Each config a README trains is self-consistent: its per-process
    batch and ``auto_scale_lr.base_batch_size`` match its name, so
    ``--auto-scale-lr`` scales from the batch its lr is for."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    m = NAMED_BATCH.search(osp.basename(config))
    assert m, f'{config}: no {{gpus}}xb{{batch}} in the name'
    assert cfg.train_dataloader.batch_size == int(m.group(2))
    assert cfg.auto_scale_lr.base_batch_size == \
        int(m.group(1)) * int(m.group(2))


def test_commands_found():
    """The parser sees the commands it should (guards against silently
    parsing nothing): README.md's CBD_ENS block (4 teacher runs from the
    nested loop + the student) and the multi-GPU examples of the method
    READMEs."""
    by_file = {}
    for c in COMMANDS:
        by_file.setdefault(c.source.split(':')[0], []).append(c)
    cbd = [c for c in by_file['README.md'] if '/cbd/' in c.argv[0]]
    assert len(cbd) == 5
    assert sorted({c.argv[c.argv.index('--work-dir') + 1] for c in cbd
                   if '--work-dir' in c.argv}) == sorted(
        f'work_dirs/{t}_resnet50_1xb128-90e_imagenet-lt_seed{s}'
        for t in ('cbd-teacher', 'cbd-teacher-aug') for s in (1, 2))
    for readme in ('configs/cbd/README.md', 'configs/ssd/README.md',
                   'configs/ncl/README.md', 'configs/ce/README.md',
                   'configs/decoupling/README.md'):
        assert any(c.tool == 'dist_train.sh' for c in by_file[readme]), \
            readme
    # $T in configs/cbd/README.md's second block comes from its first
    assert any(c.tool == 'dist_train.sh' and c.argv[0] ==
               'configs/cbd/cbd-teacher_resnet50_1xb128-90e_imagenet-lt.py'
               for c in by_file['configs/cbd/README.md'])


# ---------------------------------------------------------------- parser
def _parse(block: str, readme='x.md'):
    found: list = []
    env: Dict[str, str] = {}
    run(statements(1, block), env, found)
    return [c for ln, p, w in found
            if (c := to_command(f'{readme}:{ln}', p, env, w)) is not None]


def test_parser_loops_variables_and_continuations():
    cmds = _parse(
        'C=configs/cbd\n'
        'for a in x y; do for s in 1 2; do\n'
        '  bash tools/dist_train.sh $C/${a}_1xb128-1e_d.py 8 \\\n'
        '    --cfg-options randomness.seed=${s}  # comment\n'
        'done; done\n'
        'NNODES=2 bash ./tools/dist_train.sh "$C/z_4xb32-1e_d.py" 2\n'
        'GPUS=16 sh tools/slurm_train.sh p j $C/w_16xb8-1e_d.py wd --amp\n'
        'python tools/train.py ${D:-configs}/v_1xb4-1e_d.py --auto-scale-lr\n'
        'bash tools/dist_test.sh $C/z_4xb32-1e_d.py ckpt.pth 4\n')
    assert [(c.tool, c.world_size, c.argv[0]) for c in cmds] == [
        ('dist_train.sh', 8, 'configs/cbd/x_1xb128-1e_d.py'),
        ('dist_train.sh', 8, 'configs/cbd/x_1xb128-1e_d.py'),
        ('dist_train.sh', 8, 'configs/cbd/y_1xb128-1e_d.py'),
        ('dist_train.sh', 8, 'configs/cbd/y_1xb128-1e_d.py'),
        ('dist_train.sh', 4, 'configs/cbd/z_4xb32-1e_d.py'),
        ('slurm_train.sh', 16, 'configs/cbd/w_16xb8-1e_d.py'),
        ('train.py', 1, 'configs/v_1xb4-1e_d.py')]
    assert cmds[1].argv[-2:] == ['--cfg-options', 'randomness.seed=2']
    assert cmds[5].argv[1:] == ['--work-dir=wd', '--launcher=slurm',
                                '--amp']
    assert cmds[6].argv[1:] == ['--auto-scale-lr']


def test_check_rejects_a_changed_global_batch(monkeypatch):
    """The checker itself: 8 processes on a 1xb128 config fail; with the
    per-process batch divided, or with --auto-scale-lr, they pass."""
    cfg_path = 'configs/cbd/cbd-ens_resnet50_1xb128-90e_imagenet-lt.py'
    bad, fixed, scaled = _parse(
        f'bash tools/dist_train.sh {cfg_path} 8\n'
        f'bash tools/dist_train.sh {cfg_path} 8 '
        '--cfg-options train_dataloader.batch_size=16\n'
        f'bash tools/dist_train.sh {cfg_path} 8 --auto-scale-lr\n')
    with pytest.raises(AssertionError, match='batch_size=16'):
        check_schedule(bad, effective_config(bad, monkeypatch))
    check_schedule(fixed, effective_config(fixed, monkeypatch))
    check_schedule(scaled, effective_config(scaled, monkeypatch))
