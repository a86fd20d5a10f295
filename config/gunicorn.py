"""gunicorn settings: ASGI through uvicorn workers, so SSE streams do not hold threads."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - inside a container / VM
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
# SSE responses live long; the worker's heartbeat, not a request timeout, detects hangs.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# On SIGTERM, running streams get this long to finish before the worker is killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 75
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
