"""Everyday 2.x jobs: module-level task logger, positional variables, Meta."""

from celery.utils.log import get_task_logger
from nautobot.apps.jobs import ChoiceVar, IntegerVar, Job, StringVar, register_jobs

logger = get_task_logger(__name__)

name = "Site tasks"

SIZES = (("s", "Small"), ("l", "Large"))


def shared_helper(site):
    logger.info("helper looked at %s", site)
    logger.success("helper finished")


class RenameSite(Job):
    site = StringVar(label="Site", description="The site to rename")
    size = ChoiceVar(SIZES, "Size", default="s")
    copies = IntegerVar(1, 3, "Copies", default=1)

    class Meta:
        name = "Rename a site"
        description = """
            Renames a site.

            Second paragraph.
        """
        field_order = ["size", "site", "copies"]

    def run(self, *, site, size, copies):
        logger.debug("module logger at debug")
        self.logger.info("renaming %s", site)
        shared_helper(site)
        logger.failure("module logger failure does not fail the job")
        return {"site": site.upper(), "size": size, "copies": copies}


register_jobs(RenameSite)
