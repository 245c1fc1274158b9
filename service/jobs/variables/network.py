"""Variables holding IP addresses, interfaces (address with mask) and networks."""

import ipaddress
from typing import Any

from .base import Variable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _as_text(value: Any, message: str) -> str:
    if not isinstance(value, str):
        raise ValueError(message)
    return value.strip()


def _require_mask(text: str) -> None:
    if "/" not in text:
        raise ValueError("CIDR mask (e.g. /24) is required.")


class IPAddressVar(Variable):
    """A single IPv4 or IPv6 address without a mask."""

    message = "Enter a valid IPv4 or IPv6 address."

    def to_python(self, value: Any) -> IPAddress:
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return value
        try:
            return ipaddress.ip_address(_as_text(value, self.message))
        except ValueError:
            raise ValueError(self.message) from None


class IPAddressWithMaskVar(Variable):
    """An address with its mask, such as ``192.0.2.1/24``, as an ``ipaddress`` interface."""

    message = "Enter a valid IPv4 or IPv6 address with a mask, such as 192.0.2.1/24."

    def to_python(self, value: Any) -> IPInterface:
        if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
            return value
        text = _as_text(value, self.message)
        _require_mask(text)
        try:
            return ipaddress.ip_interface(text)
        except ValueError:
            raise ValueError(self.message) from None


class IPNetworkVar(Variable):
    """A network such as ``192.0.2.0/24``; an address with host bits set is refused, as in Nautobot."""

    message = "Enter a valid IPv4 or IPv6 network, such as 192.0.2.0/24."

    def __init__(
        self,
        min_prefix_length: int | None = None,
        max_prefix_length: int | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.min_prefix_length = min_prefix_length
        self.max_prefix_length = max_prefix_length

    def to_python(self, value: Any) -> IPNetwork:
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return value
        text = _as_text(value, self.message)
        _require_mask(text)
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(self.message) from None
        if ipaddress.ip_interface(text).ip != network.network_address:
            raise ValueError(f"{text} is not a valid prefix. Did you mean {network}?")  # Nautobot's words
        return network

    def validate(self, value: IPNetwork) -> None:
        if self.min_prefix_length is not None and value.prefixlen < self.min_prefix_length:
            raise ValueError(f"The prefix length must be greater than or equal to {self.min_prefix_length}.")
        if self.max_prefix_length is not None and value.prefixlen > self.max_prefix_length:
            raise ValueError(f"The prefix length must be less than or equal to {self.max_prefix_length}.")

    def schema_extra(self) -> dict[str, Any]:
        return {"min_prefix_length": self.min_prefix_length, "max_prefix_length": self.max_prefix_length}
