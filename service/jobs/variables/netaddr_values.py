"""IP variables as Nautobot's API defines them: values are ``netaddr`` objects, not ``ipaddress``.

``nautobot.apps.jobs`` and ``nautobot.extras.jobs`` (see ``repos.import_aliases``) offer these, so
code written against Nautobot (``address.version``, ``network.cidr``, ``network.prefixlen``) runs
unchanged. They keep the names, schema and checks of jobsync's own IP variables.

``netaddr`` is imported when a value is cleaned: importing it cost every discovery child ~40 ms
of CPU (a fifth of a 100-job repository's discovery), and most jobs never take an IP variable.
"""

from typing import Any

from . import network


class IPAddressVar(network.IPAddressVar):
    """An address, handed to the job as ``netaddr.IPAddress``."""

    def clean(self, value: Any) -> Any:
        import netaddr

        cleaned = super().clean(value)
        return None if cleaned is None else netaddr.IPAddress(str(cleaned))


class IPAddressWithMaskVar(network.IPAddressWithMaskVar):
    """An address with its mask, handed to the job as ``netaddr.IPNetwork`` (as Nautobot does)."""

    def clean(self, value: Any) -> Any:
        import netaddr

        cleaned = super().clean(value)
        return None if cleaned is None else netaddr.IPNetwork(str(cleaned))


class IPNetworkVar(network.IPNetworkVar):
    """A network, handed to the job as ``netaddr.IPNetwork``."""

    def clean(self, value: Any) -> Any:
        import netaddr

        cleaned = super().clean(value)
        return None if cleaned is None else netaddr.IPNetwork(str(cleaned))


__all__ = ["IPAddressVar", "IPAddressWithMaskVar", "IPNetworkVar"]
