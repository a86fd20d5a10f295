"""The Celery app: broker and results on Redis, configured from Django settings (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from core.logging import redact_published_arguments

app = Celery("dbworkbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Publishing retries when Redis blips: the task is not lost between commit and broker.
app.conf.task_publish_retry = True
app.conf.task_publish_retry_policy = {
    "max_retries": 5,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 3,
}


# Task arguments (an email's rendered text with its code, a chat's ids) never reach a log line:
# the repr Celery logs is redacted on every publish, retries and beat included.
before_task_publish.connect(redact_published_arguments, weak=False)


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: object = None, **kwargs: object) -> None:
    from core import context

    headers = getattr(getattr(task, "request", None), "headers", None) or {}
    context.update(request_id=str(headers.get("request_id") or task_id or "-"))


@task_postrun.connect
def _unbind_task_context(**kwargs: object) -> None:
    from core import context

    context.update(request_id="-", user_id="-", workspace_id="-")
