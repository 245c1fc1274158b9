"""IP variables used through netaddr's API, as Nautobot hands them."""

from nautobot.apps.jobs import IPAddressVar, IPNetworkVar, Job, register_jobs


class PlanSubnet(Job):
    network = IPNetworkVar(description="The subnet to plan")
    gateway = IPAddressVar(description="Its gateway")

    def run(self, *, network, gateway):
        return {
            "cidr": str(network.cidr),
            "size": network.size,
            "first_host": str(network[1]),
            "gateway_version": gateway.version,
            "gateway_inside": gateway in network,
        }


register_jobs(PlanSubnet)
