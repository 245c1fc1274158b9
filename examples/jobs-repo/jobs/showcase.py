from service.jobs import (
    BooleanVar,
    ChoiceVar,
    FileVar,
    IntegerVar,
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    Job,
    JSONVar,
    MultiChoiceVar,
    MultiObjectVar,
    ObjectVar,
    StringVar,
    TextVar,
    register_jobs,
)

name = "Showcase"


class EveryVariable(Job):
    """Take one of every variable type and report what arrived."""

    hostname = StringVar(regex=r"^[a-z0-9-]+$", min_length=2, max_length=63, description="Lowercase host")
    notes = TextVar(required=False, description="Free text")
    count = IntegerVar(min_value=1, max_value=10, default=3)
    verbose = BooleanVar(description="Log more")
    site = ChoiceVar(choices=[("ams", "Amsterdam"), ("nyc", "New York")], default="ams")
    roles = MultiChoiceVar(choices=[("edge", "Edge"), ("core", "Core")], required=False)
    device = ObjectVar(model="dcim.device", required=False, display_field="name")
    interfaces = MultiObjectVar(model="dcim.interface", required=False, query_params={"device_id": "$device"})
    config = FileVar(required=False, description="A configuration file")
    address = IPAddressVar(required=False)
    address_with_mask = IPAddressWithMaskVar(required=False)
    network = IPNetworkVar(required=False, min_prefix_length=8, max_prefix_length=30)
    extra = JSONVar(required=False)

    class Meta:
        name = "Every variable type"
        description = "Shows how each variable type is rendered, validated and passed to run()."
        has_sensitive_variables = False
        field_order = ["hostname", "site", "count"]

    def run(self, **data):
        for key, value in data.items():
            if self.verbose or value not in (None, [], ""):
                self.logger.info("%s = %r", key, value if key != "config" else getattr(value, "name", value))
        return {key: str(value) for key, value in data.items() if value is not None and key != "config"}


register_jobs(EveryVariable)
