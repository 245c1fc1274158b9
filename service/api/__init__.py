"""jobsync's REST API, in Nautobot's shapes: one module per resource, wired in ``service.app``."""
