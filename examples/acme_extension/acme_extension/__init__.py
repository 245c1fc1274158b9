"""The sample jobsync extension; ``config`` is what jobsync looks for."""

from acme_extension.config import AcmeConfig

config = AcmeConfig

__all__ = ["AcmeConfig", "config"]
