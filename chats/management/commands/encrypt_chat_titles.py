from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chats import services


class Command(BaseCommand):
    help = (
        "Encrypt the chat titles earlier releases stored in plaintext, and empty the plaintext "
        "column, in short batches while the service runs (docs/data.md, 'Encrypting chat "
        "titles'). Row versions do not change; devices pull nothing new. Safe to run again: it "
        "resumes where it stopped and does nothing once every title is encrypted."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=services.TITLE_BACKFILL_BATCH)
        parser.add_argument(
            "--lock-timeout-ms",
            type=int,
            default=2000,
            help="How long one batch may wait for a lock before it gives up (milliseconds).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count the plaintext titles left; fail if there are any.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            left = services.chat_titles_plaintext_count()
            if left:
                raise CommandError(f"{left} chat titles are still in plaintext.")
            self.stdout.write("Every chat title is encrypted.")
            return
        if options["batch_size"] < 1 or options["lock_timeout_ms"] < 1:
            raise CommandError("--batch-size and --lock-timeout-ms must be at least 1.")
        report = services.chat_titles_encrypt_plaintext(
            batch_size=options["batch_size"], lock_timeout_ms=options["lock_timeout_ms"]
        )
        self.stdout.write(
            f"{report.workspaces} workspaces: {report.encrypted} titles encrypted, "
            f"{report.erased} titles of deleted chats erased, in {report.batches} batches."
        )
        if report.remaining:
            raise CommandError(
                f"{report.remaining} chat titles are still in plaintext (rows a request held "
                "locked meanwhile): run the command again."
            )
