"""Beat tasks of sync: thin, one workspace per task."""

from __future__ import annotations

import logging

from celery import shared_task

from sync.services.collect import sync_collect_workspace, workspace_ids_for_collection

logger = logging.getLogger(__name__)


@shared_task(name="sync.collect_all", acks_late=True)
def collect_all() -> int:
    """Fan out one collection task per workspace."""
    ids = workspace_ids_for_collection()
    for workspace_id in ids:
        collect_workspace.delay(str(workspace_id))
    return len(ids)


@shared_task(name="sync.collect_workspace", acks_late=True)
def collect_workspace(workspace_id: str) -> dict[str, int]:
    report = sync_collect_workspace(workspace_id=workspace_id)
    if report.tombstones or report.devices or report.results:
        logger.info(
            "sync collection of %s: %d tombstones (horizon %d), %d devices, %d results",
            workspace_id,
            report.tombstones,
            report.horizon,
            report.devices,
            report.results,
        )
    return {
        "tombstones": report.tombstones,
        "horizon": report.horizon,
        "devices": report.devices,
        "results": report.results,
    }
