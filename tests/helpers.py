# Copyright (c) ltplug contributors. All rights reserved.
"""Helpers for tests that run the command-line tools in subprocesses."""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

__all__ = ['ROOT', 'free_port', 'run_tool', 'cfg_options']


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cfg_options(options: Dict[str, object]) -> List[str]:
    """``--cfg-options k=v ...`` arguments (values are repr'd for lists)."""
    if not options:
        return []
    args = ['--cfg-options']
    for k, v in options.items():
        if isinstance(v, str):
            args.append(f'{k}={v}')
        else:
            args.append(f'{k}={v!r}'.replace(' ', ''))
    return args


def run_tool(args: Sequence[str],
             timeout: float = 600,
             env: Optional[Dict[str, str]] = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``args`` from the repository root with ``PYTHONPATH`` set to it.

    ``args[0]`` may be a ``tools/*.py`` path (run with this Python) or a
    ``tools/*.sh`` path (run with bash; ``PORT`` is set to a free port).
    Output is captured; on failure with ``check`` the output is in the
    assertion message.
    """
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = ROOT + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env['PORT'] = str(free_port())
    full_env['PYTHONUNBUFFERED'] = '1'
    if env:
        full_env.update(env)
    args = list(args)
    if args[0].endswith('.sh'):
        cmd = ['bash', osp.join(ROOT, args[0])] + args[1:]
    elif args[0].endswith('.py'):
        cmd = [sys.executable, osp.join(ROOT, args[0])] + args[1:]
    else:
        cmd = args
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n'
                             f'{proc.stdout[-6000:]}')
    return proc


def load_script(rel: str, name: Optional[str] = None):
    """Import a script of the repository (``tools/...``, ``benchmarks/...``)
    as a module, to call its functions in-process.

    The module is also put in ``sys.modules`` under ``name``, so that worker
    processes can find its functions by module name (pickling).

    Args:
        rel (str): Its path from the repository root.
        name (str, optional): The module name. Defaults to the file's
            stem.
    """
    name = name or osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, rel))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def unwrap_bgr(pipeline: list) -> list:
    """The pipeline config with each ``ApplyInBGR`` replaced by the
    transforms it wraps (recursively)."""
    flat = []
    for t in pipeline:
        if t['type'] == 'ApplyInBGR':
            flat += unwrap_bgr(t['transforms'])
        else:
            flat.append(t)
    return flat
