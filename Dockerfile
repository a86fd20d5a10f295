# syntax=docker/dockerfile:1
#
# Production image (Fly.io; see fly.toml and docs/deploy.md). Two stages, after
# cookiecutter-django's production Dockerfile: a builder installs the locked dependencies with
# uv, and a slim runtime carries only the virtualenv and the code, runs as a non-root user and
# has no uv, no compiler and no dev dependencies.
#
# tests/deploy/test_deploy_files.py reads this file: it performs the `uv sync` and
# `collectstatic` steps below in a clean virtualenv, with the build-time environment taken from
# the collectstatic RUN line, and starts the CMD to probe it with the HEALTHCHECK command.

# ---------------------------------------------------------------------------------------------
# builder: locked, non-dev dependencies into /app/.venv. The project itself is not installed
# ([tool.uv] package = false), so only pyproject.toml and uv.lock are needed and this layer is
# rebuilt only when they change.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS builder

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

# Compile bytecode now, since the runtime user cannot write it; copy out of the cache mount
# (hard links would point into it); use the image's Python, never a downloaded one, because the
# venv's interpreter link must resolve in the runtime stage, which uses the same base image.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --frozen --no-dev

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=config.settings \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
# Code and collected static files stay owned by root: the service cannot rewrite them.
COPY . /app

# Static files are collected into the image (served by whitenoise with hashed, compressed
# names). Settings refuse to load in production without these variables, so they get values
# that are visibly fake and point nowhere (.invalid never resolves; the encryption key decodes
# to "build-only-fake-key-never-in-use"; the JWT key is generated here and thrown away). They
# are set on this line only, so none is in the image's environment: fly.toml [env] and Fly
# secrets provide the real ones. A setting that becomes required in production needs a stand-in
# here too; tests/deploy fails until it has one.
RUN DJANGO_ENV=production \
    SECRET_KEY=build-only-not-a-secret-used-for-collectstatic-never-at-runtime \
    ALLOWED_HOSTS=build-only.invalid \
    PUBLIC_URL=https://build-only.invalid \
    DATABASE_URL=postgresql://build-only@build-only.invalid:5432/build-only \
    REDIS_URL=redis://build-only.invalid:6379/0 \
    RESEND_API_KEY=build-only-not-a-resend-key \
    ENCRYPTION_KEYS='primary=build-only;build-only=YnVpbGQtb25seS1mYWtlLWtleS1uZXZlci1pbi11c2U=' \
    JWT_PRIVATE_KEY="$(python -c 'from cryptography.hazmat.primitives import serialization as s; from cryptography.hazmat.primitives.asymmetric import rsa; print(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())')" \
    python manage.py collectstatic --noinput

# var/ is the only directory the service writes (celery beat's schedule file).
RUN mkdir -p /app/var && chown app:app /app/var

USER app

EXPOSE 8000

# /healthz touches neither PostgreSQL nor Redis (core/health.py). Slim images have no curl.
# Fly ignores this and uses [[http_service.checks]] in fly.toml; it serves `docker run`. Worker
# and beat containers serve no HTTP: disable it for them (compose: `healthcheck: disable: true`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]

# The web process; fly.toml's [processes] gives worker and beat their own commands.
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.asgi:application"]
