"""replay: rebuild every target from its genesis and the logged patches; exit 1 on a mismatch."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from audit.replay import ReplayMismatch, targets_replay


class Command(BaseCommand):
    help = "Rebuild every target from the log and compare every version's content hash."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = targets_replay()
        except ReplayMismatch as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        self.stdout.write(f"OK replayed {result.targets} targets, {result.versions} versions")
