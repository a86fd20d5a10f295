"""The deploy files agree with each other and with the code, and the image's build steps work.

Docker does not run here, so the slow tests do what the Dockerfile does without it: `uv sync` of
the locked non-dev dependencies into a fresh virtualenv, `collectstatic` with the build-time
environment read from the Dockerfile's own RUN line in a copy of the build context filtered by
.dockerignore, then the image's CMD and HEALTHCHECK against that result.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_for_port
from tests.deploy.deployfiles import (
    DOCKERFILE,
    Stage,
    copy_build_context,
    dockerfile_stages,
    dockerignore_patterns,
    env_assignments,
    exec_form,
    find_run,
    fly_config,
    gunicorn_settings,
    inline_environment,
    is_ignored,
    procfile_processes,
    run_shell,
    seconds,
    shell_step,
    without_flags,
)

# Settings refuse to load in production without these; the build gives them stand-ins.
BUILD_ENV_NAMES = (
    "DJANGO_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "PUBLIC_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "ENCRYPTION_KEYS",
)


def _stages() -> tuple[Stage, Stage]:
    stages = dockerfile_stages()
    return stages[0], stages[-1]


def _stage_env(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        env.update(env_assignments(instruction.args))
    return env


def _collectstatic_step() -> tuple[dict[str, str], list[str]]:
    _, runtime = _stages()
    step = shell_step(find_run(runtime, "collectstatic").args, "collectstatic")
    return step.env, step.argv


def _argv(command: str) -> list[str]:
    return shlex.split(command)


def _entry_point(argv: list[str]) -> tuple[str, str, str | None]:
    """(program, what it loads, subcommand): ('gunicorn', 'config.asgi:application', None),
    ('celery', 'config', 'worker')."""
    program = argv[0]
    if program == "gunicorn":
        targets = [a for a in argv[1:] if ":" in a and not a.startswith("-")]
        assert len(targets) == 1, f"gunicorn needs one module:callable in {argv}"
        return program, targets[0], None
    if program == "celery":
        app = argv[argv.index("-A") + 1]
        rest = argv[argv.index("-A") + 2 :]
        return program, app, rest[0] if rest else None
    raise AssertionError(f"unexpected program {program!r}")


def _module_file(dotted: str) -> Path:
    path = ROOT.joinpath(*dotted.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _assigns(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
        for node in tree.body
    )


def _dependency_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[\[<>=!~ ;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


# ---------------------------------------------------------------------------------------------
# fly.toml
# ---------------------------------------------------------------------------------------------
def test_fly_processes_are_procfile_processes() -> None:
    fly = fly_config()["processes"]
    dev = procfile_processes()
    assert set(fly) == set(dev) == {"web", "worker", "beat"}
    for name in fly:
        assert _entry_point(_argv(fly[name])) == _entry_point(_argv(dev[name])), name


def test_fly_process_commands_load_modules_that_exist() -> None:
    dependencies = _dependency_names()
    for name, command in fly_config()["processes"].items():
        argv = _argv(command)
        program, target, _ = _entry_point(argv)
        assert program in dependencies, f"{name}: {program} is not a runtime dependency"
        if program == "gunicorn":
            config = argv[argv.index("-c") + 1]
            assert (ROOT / config).is_file(), f"{name}: no gunicorn config {config}"
            module, _, attribute = target.partition(":")
            assert _module_file(module).is_file(), f"{name}: no module {module}"
            assert _assigns(_module_file(module), attribute), f"{name}: {target} not defined"
        else:
            # `celery -A config` loads config.celery's `app` (celery looks there for the app).
            celery_module = _module_file(f"{target}.celery")
            assert celery_module.is_file(), f"{name}: no {target}/celery.py"
            assert _assigns(celery_module, "app"), f"{name}: {celery_module} defines no `app`"


def test_worker_and_beat_commands() -> None:
    processes = fly_config()["processes"]
    worker = _argv(processes["worker"])
    assert _entry_point(worker) == ("celery", "config", "worker")
    for flag in ("--without-gossip", "--without-mingle"):
        assert flag in worker
    assert worker[worker.index("--pool") + 1] == "threads"
    assert int(worker[worker.index("--concurrency") + 1]) >= 1
    assert _entry_point(_argv(processes["beat"])) == ("celery", "config", "beat")
    # Beat must run on exactly one machine; the file says so where someone would scale it.
    assert "beat=1" in (ROOT / "fly.toml").read_text()


def test_release_command_is_an_executable_script() -> None:
    command = fly_config()["deploy"]["release_command"]
    path = ROOT / _argv(command)[0]
    assert path.is_file(), f"release_command {command!r} does not exist"
    assert os.access(path, os.X_OK), f"{path} is not executable"
    text = path.read_text()
    assert text.startswith("#!"), f"{path} has no shebang"
    assert "set -euo pipefail" in text
    commands = [c.strip() for c in text.splitlines() if c.strip() and not c.strip().startswith("#")]
    (migrate,) = [i for i, c in enumerate(commands) if "manage.py migrate" in c]
    (role_check,) = [i for i, c in enumerate(commands) if "check --deploy --database default" in c]
    # Migrations run as the owner; the role check runs after them, as DATABASE_URL (the app role).
    assert commands[migrate].startswith('DATABASE_URL="$DATABASE_OWNER_URL" python manage.py')
    assert "--noinput" in commands[migrate]
    assert commands[role_check].startswith("python manage.py")
    assert role_check > migrate


def test_web_service_is_checked_on_healthz() -> None:
    fly = fly_config()
    service = fly["http_service"]
    assert service["processes"] == ["web"]
    assert service["force_https"] is True
    assert service["internal_port"] == 8000
    assert service.get("min_machines_running", 0) >= 1
    checks = service["checks"]
    assert checks, "no [[http_service.checks]]"
    for check in checks:
        assert check["path"] == "/healthz"
        assert check.get("method", "GET").upper() == "GET"
    # The port gunicorn binds with fly's [env] is the one the proxy sends to.
    bind = gunicorn_settings(fly["env"])["bind"]
    assert bind.rsplit(":", 1)[1] == str(service["internal_port"])


def test_healthz_answers_without_database_or_host_checks() -> None:
    from django.test import Client

    response = Client(HTTP_HOST="10.0.0.1").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_machines_outlive_gunicorn_graceful_shutdown() -> None:
    fly = fly_config()
    assert fly["kill_signal"] == "SIGTERM"
    kill_timeout = seconds(fly["kill_timeout"])
    gunicorn = gunicorn_settings(fly["env"])
    assert gunicorn["worker_class"] == "uvicorn_worker.UvicornWorker"
    # gunicorn must finish (or kill) its workers and exit before Fly kills the machine.
    assert kill_timeout >= gunicorn["graceful_timeout"] + 5, (kill_timeout, gunicorn)
    assert kill_timeout >= 60
    # Shared-CPU machines allow at most 300 s.
    assert kill_timeout <= 300


def test_fly_env_is_production_and_holds_no_secrets() -> None:
    env = fly_config()["env"]
    assert env["DJANGO_ENV"] == "production"
    assert env["LOG_FORMAT"] == "json"
    assert env["TRUST_PROXY_HEADERS"] == "true"
    assert env["DATABASE_APP_ROLE"]
    assert all(isinstance(v, str) for v in env.values()), "fly [env] values must be strings"
    secret = re.compile(r"SECRET|TOKEN|PASSWORD|_KEYS?$|DSN|_URL$")
    leaked = [k for k in env if secret.search(k) and k != "PUBLIC_URL"]
    assert not leaked, f"set these with `fly secrets set`, not in [env]: {leaked}"


def test_every_process_has_a_vm_size() -> None:
    fly = fly_config()
    sized = {p for vm in fly["vm"] for p in vm.get("processes", [])}
    default = any("processes" not in vm for vm in fly["vm"])
    assert default or sized >= set(fly["processes"]), set(fly["processes"]) - sized


def test_fly_builds_this_dockerfile() -> None:
    assert (ROOT / fly_config()["build"]["dockerfile"]).resolve() == DOCKERFILE


# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------
def test_dockerfile_is_multi_stage_on_one_slim_base() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    builder, runtime = stages[0], stages[-1]
    assert runtime.base == "python:3.11-slim"
    # The venv's interpreter link points into the builder's image: the bases must match.
    assert builder.base == runtime.base
    assert builder.name, "name the builder stage: COPY --from uses it"


def test_builder_installs_locked_dependencies_with_pinned_uv() -> None:
    builder, _ = _stages()
    step = shell_step(find_run(builder, "uv sync").args, "uv sync")
    assert step.argv[:2] == ["uv", "sync"]
    assert "--frozen" in step.argv
    assert "--no-dev" in step.argv
    assert _stage_env(builder)["UV_PROJECT_ENVIRONMENT"] == "/app/.venv"
    copies = " ".join(i.args for i in builder.all("COPY"))
    assert re.search(r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ ", copies), "pin the uv image"


def test_runtime_copies_the_venv_and_runs_it_as_non_root() -> None:
    builder, runtime = _stages()
    copies = [i.args for i in runtime.all("COPY")]
    assert f"--from={builder.name} /app/.venv /app/.venv" in copies
    assert _stage_env(runtime)["PATH"].startswith("/app/.venv/bin:")
    users = runtime.all("USER")
    assert users, "the runtime stage has no USER"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    assert any("useradd" in i.args and i.args.split()[-1] == user for i in runtime.all("RUN"))


def test_collectstatic_runs_at_build_time_with_build_only_values() -> None:
    env, argv = _collectstatic_step()
    assert argv == ["python", "manage.py", "collectstatic", "--noinput"]
    assert set(BUILD_ENV_NAMES) <= set(env)
    assert env["DJANGO_ENV"] == "production"
    for name, value in env.items():
        if name != "DJANGO_ENV":
            # Visibly fake, or generated during the build and thrown away.
            fake = "build-only" in value or value.startswith("$(")
            assert fake, f"{name} should look fake: {value!r}"
    # Inline on the RUN line only: nothing bakes them into the image's environment.
    for stage in dockerfile_stages():
        for instruction in stage.all("ENV") + stage.all("ARG"):
            words = shlex.split(instruction.args)
            names = {w.partition("=")[0] for w in words}
            assert not names & set(env), f"{instruction.keyword} {instruction.args}"


def test_healthcheck_probes_healthz_with_python() -> None:
    _, runtime = _stages()
    (healthcheck,) = runtime.all("HEALTHCHECK")
    options, _, command = healthcheck.args.partition(" CMD ")
    argv = exec_form(command)
    assert argv[0] == "python"
    assert "urllib" in argv[-1]
    assert "/healthz" in argv[-1]
    assert "--interval=" in options


def test_image_serves_the_fly_web_process() -> None:
    _, runtime = _stages()
    (cmd,) = runtime.all("CMD")
    assert exec_form(cmd.args) == _argv(fly_config()["processes"]["web"])
    (expose,) = runtime.all("EXPOSE")
    assert int(expose.args) == fly_config()["http_service"]["internal_port"]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = dockerignore_patterns()
    for path in (
        ".venv/bin/python",
        "var/pgdata/PG_VERSION",
        ".git/HEAD",
        "node_modules/x/index.js",
        "tests/node/node_modules/x/index.js",
        "staticfiles/staticfiles.json",
        ".mypy_cache/x",
        ".ruff_cache/x",
        ".pytest_cache/x",
        "core/__pycache__/x.pyc",
        ".env",
    ):
        assert is_ignored(path, patterns), path
    for path in (
        "manage.py",
        "config/settings/base.py",
        "bin/release",
        "pyproject.toml",
        "uv.lock",
    ):
        assert not is_ignored(path, patterns), path


def test_dockerfile_reader() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "FROM python:3.11-slim AS builder\n"
        "RUN --mount=type=cache,target=/root/.cache/uv \\\n"
        "    # a comment inside a continuation\n"
        "    A=1 B='two words' \\\n"
        "    python x.py --flag && echo done\n"
        "FROM python:3.11-slim AS runtime\n"
        'ENV X=1 PATH="/app/.venv/bin:$PATH"\n'
    )
    builder, runtime = dockerfile_stages(text)
    assert (builder.name, runtime.name) == ("builder", "runtime")
    (run,) = builder.all("RUN")
    assert without_flags(run.args).startswith("A=1")
    step = shell_step(run.args, "x.py")
    assert step.env == {"A": "1", "B": "two words"}
    assert step.argv == ["python", "x.py", "--flag"]
    assert env_assignments(runtime.all("ENV")[0].args) == {"X": "1", "PATH": "/app/.venv/bin:$PATH"}


# ---------------------------------------------------------------------------------------------
# The build, without Docker (slow)
# ---------------------------------------------------------------------------------------------
@dataclass
class Build:
    app: Path  # what /app holds in the image
    env: dict[str, str]  # a running machine's environment: image ENV, fly [env], stand-in secrets


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=90, check=False
    )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    builder, runtime = _stages()
    tmp = tmp_path_factory.mktemp("image")
    app = tmp / "app"

    # builder stage: only pyproject.toml and uv.lock are bind-mounted into the uv sync step.
    context = tmp / "builder"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, context / name)
    sync = shell_step(find_run(builder, "uv sync").args, "uv sync")
    uv_env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    uv_env.update(_stage_env(builder))
    uv_env.update(sync.env)
    # How files land (bytecode, copies out of a cache mount) does not change what is installed.
    uv_env.pop("UV_COMPILE_BYTECODE", None)
    uv_env.pop("UV_LINK_MODE", None)
    uv_env["UV_PROJECT_ENVIRONMENT"] = str(app / ".venv")
    uv_env["UV_PYTHON"] = sys.executable
    result = _run([shutil.which("uv") or "uv", *sync.argv[1:]], cwd=context, env=uv_env)
    assert result.returncode == 0, result.stderr

    # runtime stage: COPY . /app through .dockerignore, then the collectstatic RUN line.
    copy_build_context(app)
    home = tmp / "home"
    home.mkdir()
    image_env = _stage_env(runtime)
    # The inherited PATH minus any virtualenv (the one running pytest): a program missing from
    # the clean venv must not be found elsewhere.
    system_path = os.pathsep.join(
        d
        for d in os.environ["PATH"].split(os.pathsep)
        if not (Path(d).parent / "pyvenv.cfg").exists()
    )
    image_env["PATH"] = image_env["PATH"].replace("/app/", f"{app}/").replace("$PATH", system_path)
    base = {"HOME": str(home), "LANG": "C.UTF-8", **image_env}
    collectstatic = find_run(runtime, "collectstatic")
    result = run_shell(collectstatic.args, env=base, cwd=app)
    assert result.returncode == 0, result.stdout + result.stderr
    build_env = inline_environment(collectstatic.args, "collectstatic", env=base, cwd=app)

    # A machine: the image's ENV, the build's stand-ins where Fly secrets would be, fly [env].
    machine = {**base, **build_env, **fly_config()["env"]}
    return Build(app=app, env=machine)


@pytest.mark.slow
def test_clean_venv_holds_the_locked_runtime_dependencies_only(build: Build) -> None:
    bin_dir = build.app / ".venv" / "bin"
    for program in ("python", "gunicorn", "celery"):
        assert (bin_dir / program).exists(), program
    for dev_only in ("pytest", "ruff", "mypy"):
        assert not (bin_dir / dev_only).exists(), f"{dev_only} is a dev dependency"


@pytest.mark.slow
def test_collectstatic_writes_the_manifest_and_admin_css(build: Build) -> None:
    static = build.app / "staticfiles"
    manifest = json.loads((static / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css", "names are not hashed"
    assert (static / hashed).is_file()
    assert (static / (hashed + ".gz")).is_file(), "whitenoise did not compress"
    assert (static / "admin" / "css" / "base.css").is_file()


@pytest.mark.slow
def test_production_settings_pass_the_deploy_checks(build: Build) -> None:
    result = _run(["python", "manage.py", "check", "--deploy"], cwd=build.app, env=build.env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Django's deployment checklist (HTTPS, HSTS, cookies, SECRET_KEY, DEBUG) is all warnings:
    # none may fire with the production environment. Other apps' warnings are their business.
    assert "security.W" not in output, output


@pytest.fixture
def web(build: Build) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """The image's CMD, as a machine runs it."""
    _, runtime = _stages()
    (cmd,) = runtime.all("CMD")
    env = {**build.env, "PORT": str(free_port()), "WEB_CONCURRENCY": "1"}
    log = build.app.parent / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            exec_form(cmd.args), cwd=build.app, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(int(env["PORT"]), proc)
        yield proc, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_web_command_passes_the_healthcheck_and_serves_static_files(
    build: Build, web: tuple[subprocess.Popen[bytes], dict[str, str]]
) -> None:
    proc, env = web
    _, runtime = _stages()
    (healthcheck,) = runtime.all("HEALTHCHECK")
    probe = exec_form(healthcheck.args.partition(" CMD ")[2])

    result = _run(probe, cwd=build.app, env=env)
    assert result.returncode == 0, result.stderr

    # whitenoise serves the hashed file behind Fly's proxy (TLS ended, X-Forwarded-Proto set).
    manifest = json.loads((build.app / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['PORT']}/static/{hashed}",
        headers={"Host": env["ALLOWED_HOSTS"].split(",")[0], "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")
        assert "immutable" in response.headers.get("Cache-Control", "")

    # SIGTERM (fly.toml's kill_signal) stops it well within the graceful timeout when idle.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    # ...and then the same probe fails, so it can tell.
    assert _run(probe, cwd=build.app, env=env).returncode != 0


@pytest.mark.slow
def test_worker_and_beat_load_the_celery_app(build: Build) -> None:
    for name in ("worker", "beat"):
        program, app, _ = _entry_point(_argv(fly_config()["processes"][name]))
        result = _run([program, "-A", app, "report"], cwd=build.app, env=build.env)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        assert "celery:" in result.stdout
