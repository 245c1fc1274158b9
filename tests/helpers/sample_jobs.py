"""Job classes the execution tests run as source "system" (importable, no git needed)."""

import os
import signal
import sys
import time

from service.jobs import FileVar, IntegerVar, Job, StringVar
from service.jobs.errors import SoftTimeLimitExceeded


class Hello(Job):
    who = StringVar(default="world")

    class Meta:
        name = "Hello"
        has_sensitive_variables = False

    def run(self, who):
        self.logger.info("hello %s", who)
        return {"greeted": who}


class Raises(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        raise ValueError("boom")


class SysExit(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        sys.exit(3)


class HardExit(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        os._exit(7)


class Segfault(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self):
        os.kill(os.getpid(), signal.SIGSEGV)


class Sleeper(Job):
    seconds = IntegerVar(default=60)

    class Meta:
        has_sensitive_variables = False
        time_limit = 1

    def run(self, seconds):
        self.logger.info("sleeping")
        time.sleep(seconds)


class SoftLimited(Job):
    class Meta:
        has_sensitive_variables = False
        soft_time_limit = 0.5
        time_limit = 30

    def run(self):
        try:
            time.sleep(30)
        except SoftTimeLimitExceeded:
            self.logger.warning("cleaning up after soft limit")
            raise


class Secretive(Job):
    password = StringVar()

    class Meta:
        has_sensitive_variables = True

    def run(self, password):
        self.logger.info("got a password of length %d", len(password))
        return len(password)


class Upload(Job):
    config = FileVar()

    class Meta:
        has_sensitive_variables = False

    def run(self, config):
        return {"name": config.name, "size": len(config.read())}
