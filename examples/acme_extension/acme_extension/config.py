"""The extension's declaration: its name, queue, settings and start-up hook."""

import logging

from acme_extension import housekeeping  # noqa: F401  (importing registers the system job)
from service.extensions import ExtensionConfig

logger = logging.getLogger(__name__)


class AcmeConfig(ExtensionConfig):
    name = "acme"
    verbose_name = "Acme"
    version = "1.0.0"
    description = "Inventory reports, a tar-archive data backend and housekeeping for them."
    queues = ["reports"]
    settings = {"stale_after_minutes": 30}

    def ready(self) -> None:
        logger.info("acme extension ready (stale after %s min)", self.settings["stale_after_minutes"])
