"""UI views, one module per family of pages; importing a module adds its routes to ``bp``."""


def register_views() -> None:
    """Import every page family so its routes exist before the blueprint is registered."""
    from service.ui.views import (  # noqa: F401
        activity,
        auth,
        buttons,
        hooks,
        jobs,
        notifications,
        repositories,
        results,
        schedules,
    )
