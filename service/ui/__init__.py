"""The server-rendered web UI: one blueprint, ``bp``, whose pages call the service use cases."""

from service.ui.base import bp
from service.ui.views import register_views

register_views()

__all__ = ["bp"]
