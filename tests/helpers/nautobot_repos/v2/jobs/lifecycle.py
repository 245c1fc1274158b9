"""Every lifecycle path, each hook logging what Nautobot's run_job handed it."""

from nautobot.apps.jobs import BooleanVar, Job, register_jobs


def describe(value):
    if isinstance(value, BaseException):
        return f"{type(value).__name__}({value})"
    return repr(value)


class Lifecycle(Job):
    fail_early = BooleanVar(default=False)
    fail_cleanly = BooleanVar(default=False)
    explode = BooleanVar(default=False)

    def before_start(self, task_id, args, kwargs):
        self.logger.info("before_start task_id_is_run=%s", task_id == self.request.id)
        if kwargs["fail_early"]:
            self.fail("not today")
            return "refused in before_start"
        return "ignored"

    def run(self, *, fail_early, fail_cleanly, explode):
        if explode:
            raise RuntimeError("kaboom")
        if fail_cleanly:
            self.fail("partly done")
        return "ran"

    def on_success(self, retval, task_id, args, kwargs):
        self.logger.info("on_success retval=%s", describe(retval))

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        self.logger.info("on_failure exc=%s einfo=%s", describe(exc), "yes" if einfo else "none")

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        self.logger.info("after_return status=%s retval=%s", status, describe(retval))


register_jobs(Lifecycle)
