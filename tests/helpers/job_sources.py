"""Source files of sample job repositories, written with the real authoring API."""


def job_module(class_name: str, *, name: str | None = None, register: bool = True, extra: str = "") -> str:
    """Return a module defining one job class (registering it itself unless told not to)."""
    registration = f"register_jobs({class_name})\n" if register else ""
    return (
        "from service.jobs import Job, StringVar, register_jobs\n"
        f"{extra}\n"
        f"class {class_name}(Job):\n"
        "    who = StringVar(description='Who to greet')\n"
        "\n"
        "    class Meta:\n"
        f"        name = {name or class_name!r}\n"
        "\n"
        "    def run(self, *, who):\n"
        f"        return '{class_name} ' + who\n"
        "\n"
        f"{registration}"
    )


SELF_REGISTERING = {
    "jobs/__init__.py": "from . import hello, world\n",
    "jobs/hello.py": job_module("Hello"),
    "jobs/world.py": job_module("World"),
}

REGISTERED_BY_INIT = {
    "jobs/__init__.py": (
        "from service.jobs import register_jobs\n"
        "from .hello import Hello\n"
        "from .nested.deep import Deep\n"
        "register_jobs(Hello, Deep)\n"
    ),
    "jobs/hello.py": job_module("Hello", register=False),
    "jobs/nested/__init__.py": "",
    "jobs/nested/deep.py": job_module("Deep", register=False),
}


def nautobot_repository(version: str) -> dict[str, str]:
    """Return the files of the test repository written in Nautobot ``version``'s idioms ("v1", "v2").

    They live as real files under ``tests/helpers/nautobot_repos/<version>`` and import Nautobot's
    paths (``nautobot.apps.jobs``...), never jobsync's.
    """
    from pathlib import Path

    root = Path(__file__).parent / "nautobot_repos" / version
    return {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.py"))}
