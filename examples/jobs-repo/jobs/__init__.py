"""Sample jobs for jobsync: one module per idea, each registering its own jobs."""

from . import buttons, greetings, hello, hooks, maintenance, reports, showcase  # noqa: F401
