"""Readers for the deploy files (Dockerfile, .dockerignore, fly.toml, Procfile.dev), so the tests
check what those files say rather than a copy of it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
FLY_TOML = ROOT / "fly.toml"
PROCFILE = ROOT / "Procfile.dev"
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.py"

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    args: str  # continuation lines joined, flags (--mount=...) included


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions in order. Comment lines end nowhere: Docker drops them even in the middle of
    a continued instruction, and so does this."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued instruction"
    return instructions


def dockerfile_stages(text: str | None = None) -> list[Stage]:
    text = DOCKERFILE.read_text() if text is None else text
    stages: list[Stage] = []
    for instruction in dockerfile_instructions(text):
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


def without_flags(args: str) -> str:
    """RUN/COPY arguments without their leading --flags (--mount=..., --from=...)."""
    return re.sub(r"^(?:--\S+\s+)*", "", args)


def env_assignments(args: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` as a dict (the legacy `ENV A 1` form is not used here)."""
    env: dict[str, str] = {}
    for word in shlex.split(args):
        key, sep, value = word.partition("=")
        assert sep, f"ENV {args!r}: use the KEY=value form"
        env[key] = value
    return env


@dataclass
class ShellStep:
    env: dict[str, str]  # inline `NAME=value` prefixes: set for this command only
    argv: list[str]


def shell_step(run_args: str, marker: str) -> ShellStep:
    """The command in a RUN line that contains `marker`, with its inline environment. Stops at
    `&&`: inline assignments apply to the first command only."""
    words = shlex.split(without_flags(run_args))
    if "&&" in words:
        words = words[: words.index("&&")]
    env: dict[str, str] = {}
    while words and _ASSIGNMENT.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert marker in " ".join(words), f"{marker!r} is not the first command of RUN {run_args!r}"
    return ShellStep(env=env, argv=words)


def run_shell(run_args: str, *, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A RUN instruction as Docker runs its shell form: `/bin/sh -c '<line>'`."""
    return subprocess.run(
        ["/bin/sh", "-c", without_flags(run_args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def inline_environment(
    run_args: str, marker: str, *, env: dict[str, str], cwd: Path
) -> dict[str, str]:
    """The inline `NAME=value` prefixes of a RUN line as the shell evaluates them (command
    substitutions included): the line runs with its command swapped for an environment dump."""
    step = shell_step(run_args, marker)
    script = without_flags(run_args)
    command = shlex.join(step.argv)
    assert script.count(command) == 1, f"cannot find {command!r} in RUN {run_args!r}"
    dump = "python -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    result = subprocess.run(
        ["/bin/sh", "-c", script.replace(command, dump)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    evaluated: dict[str, str] = json.loads(result.stdout)
    return {name: evaluated[name] for name in step.env}


def find_run(stage: Stage, marker: str) -> Instruction:
    matches = [i for i in stage.all("RUN") if marker in i.args]
    assert len(matches) == 1, f"expected one RUN with {marker!r} in stage {stage.name}"
    return matches[0]


def exec_form(args: str) -> list[str]:
    """CMD/HEALTHCHECK CMD in JSON (exec) form."""
    value = json.loads(args)
    assert isinstance(value, list), args
    assert all(isinstance(v, str) for v in value), args
    return value


# ---------------------------------------------------------------------------------------------
# .dockerignore: Docker's matching (patterns rooted at the context, `*` within one path element,
# `**` across elements, `!` re-includes, last match wins, a match on a directory covers it all).
# ---------------------------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_patterns(text: str | None = None) -> list[tuple[bool, re.Pattern[str], str]]:
    text = DOCKERIGNORE.read_text() if text is None else text
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        cleaned = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        patterns.append((negate, _pattern_regex(cleaned), cleaned))
    return patterns


def is_ignored(relative: str, patterns: list[tuple[bool, re.Pattern[str], str]]) -> bool:
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, regex, _ in patterns:
        if any(regex.match(c) for c in candidates):
            ignored = not negate
    return ignored


def copy_build_context(destination: Path) -> None:
    """Copy the repository as `COPY . /app` would see it through .dockerignore."""
    patterns = dockerignore_patterns()
    can_prune = not any(negate for negate, _, _ in patterns)
    for directory, dirnames, filenames in os.walk(ROOT):
        relative_dir = Path(directory).relative_to(ROOT).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        if can_prune:
            dirnames[:] = [d for d in dirnames if not is_ignored(prefix + d, patterns)]
        for filename in filenames:
            relative = prefix + filename
            if is_ignored(relative, patterns):
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(directory) / filename, target, follow_symlinks=False)


# ---------------------------------------------------------------------------------------------
# fly.toml, Procfile.dev, gunicorn
# ---------------------------------------------------------------------------------------------
def fly_config() -> dict[str, Any]:
    return tomllib.loads(FLY_TOML.read_text())


def procfile_processes() -> dict[str, str]:
    processes = {}
    for raw in PROCFILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def gunicorn_settings(environ: dict[str, str]) -> dict[str, Any]:
    """config/gunicorn.py evaluated in a fresh interpreter with exactly this environment (plus
    PATH), as gunicorn would read it on a machine."""
    code = (
        "import json, runpy; ns = runpy.run_path('config/gunicorn.py'); "
        "print(json.dumps({k: v for k, v in ns.items() "
        "if not k.startswith('_') and isinstance(v, (str, int, float, bool, type(None)))}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **environ},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    settings: dict[str, Any] = json.loads(result.stdout)
    return settings


def seconds(value: int | str) -> int:
    """fly.toml durations: 120, "120s", "2m"."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+)(s|m|h)?", value.strip())
    assert match, f"not a duration: {value!r}"
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
