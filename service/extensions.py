"""Extensions: installable packages that add queues, jobs, housekeeping and data backends.

An extension is a package named in config (``extensions: [acme_extension]``) whose top level
exposes ``config = AcmeConfig``, a subclass of ``ExtensionConfig``. ``bootstrap.configure`` loads
every extension before the broker's actors are declared, so their queues are served like the
built-in ones; each process then calls ``ready_extensions`` once it has started. Anything wrong
(an import failing, a duplicate name or queue, bad settings, ``ready()`` raising) is a
ConfigError naming the extension: start-up stops with one line and exit status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from repos.backends import register_backend
from repos.errors import RepositoryError
from service.config import BUILTIN_QUEUES, Settings
from service.errors import ConfigError
from service.jobs.backends import DataBackend

#: The Job.source of extension jobs; their class paths read ``extensions/<name>.<module>/<Class>``.
EXTENSIONS_SOURCE = "extensions"
_QUEUE_PART = re.compile(r"^[A-Za-z0-9_-]+$")


class ExtensionConfig:
    """Describe an extension; subclass it in the package and expose the subclass as ``config``.

    Class attributes are the declaration. ``settings`` holds the defaults; the loaded instance's
    ``settings`` holds them merged with config's ``extension_settings.<name>``.
    """

    name: str = ""  # a Python identifier, unique among extensions; prefixes its queues
    verbose_name: str = ""
    version: str = "0.0.0"
    description: str = ""
    queues: Sequence[str] = ()  # served as "<name>.<queue>"
    jobs: str = "jobs"  # module (below the package) whose import registers the extension's jobs
    data_backends: str = "data_backends.backends"  # "<module>.<attribute>": a list of DataBackend classes
    settings: Mapping[str, Any] = {}

    def __init__(self, package: str, settings: dict[str, Any]):
        self.package = package
        self.settings = settings
        self.backends: list[type[DataBackend]] = []
        self.jobs_module: str | None = None  # the importable module, when the extension has one

    @property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{queue}" for queue in self.queues)

    def ready(self) -> None:
        """Run once per process after start-up: schedule housekeeping, connect signals and so on."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version}>"


class LoadedExtensions:
    """The extensions this process loaded, in configuration order."""

    def __init__(self, extensions: Sequence[ExtensionConfig] = ()):
        self._by_name = {extension.name: extension for extension in extensions}

    def __iter__(self) -> Iterator[ExtensionConfig]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> ExtensionConfig | None:
        return self._by_name.get(name)

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(queue for extension in self for queue in extension.queue_names)


def load_extensions(settings: Settings) -> LoadedExtensions:
    """Import and check every configured extension; raises ConfigError naming the first bad one."""
    loaded: list[ExtensionConfig] = []
    owners = {queue: "a built-in or configured queue" for queue in BUILTIN_QUEUES + tuple(settings.queues)}
    for package in settings.extensions:
        config_class = _config_class(package)
        _check_name(package, config_class, loaded)
        for queue in _queue_names(package, config_class):
            if queue in owners:
                raise _refused(package, f"queue {queue!r} clashes with {owners[queue]}")
            owners[queue] = f"extension {package!r}"
        extension = config_class(package, _settings_for(package, config_class, settings.extension_settings))
        extension.jobs_module = _jobs_module(package, config_class)
        extension.backends = _register_backends(package, config_class)
        loaded.append(extension)
    unknown = sorted(set(settings.extension_settings) - {extension.name for extension in loaded})
    if unknown:
        raise ConfigError(f"config key 'extension_settings': {unknown[0]!r} is not a loaded extension's name",
                          key="extension_settings")
    return LoadedExtensions(loaded)


def _config_class(package: str) -> type[ExtensionConfig]:
    try:
        module = importlib.import_module(package)
    except Exception as exc:  # any failure of the extension's own code stops start-up, named
        raise _refused(package, f"failed to import: {_describe(exc)}") from None
    config_class = getattr(module, "config", None)
    if not (isinstance(config_class, type) and issubclass(config_class, ExtensionConfig)):
        raise _refused(package, "has no `config`: set it to a subclass of service.extensions.ExtensionConfig")
    return config_class


def _refused(package: str, problem: str) -> ConfigError:
    return ConfigError(f"extension {package!r}: {problem}", key="extensions")


def _check_name(package: str, config_class: type[ExtensionConfig], loaded: list[ExtensionConfig]) -> None:
    name = config_class.name
    if not isinstance(name, str) or not name.isidentifier():
        raise _refused(package, f"name {name!r} is not a Python identifier")
    clash = next((extension for extension in loaded if extension.name == name), None)
    if clash is not None:
        raise _refused(package, f"name {name!r} is already used by extension {clash.package!r}")


def _queue_names(package: str, config_class: type[ExtensionConfig]) -> list[str]:
    queues = list(config_class.queues)
    for queue in queues:
        if not isinstance(queue, str) or not _QUEUE_PART.match(queue):
            raise _refused(package, f"queue {queue!r} must be letters, digits, '_' or '-'")
    duplicates = sorted({queue for queue in queues if queues.count(queue) > 1})
    if duplicates:
        raise _refused(package, f"queue {duplicates[0]!r} is declared twice")
    return [f"{config_class.name}.{queue}" for queue in queues]


def _settings_for(package: str, config_class: type[ExtensionConfig], configured: Mapping[str, Any]) -> dict:
    """Merge the extension's defaults with config's values, refusing unknown keys and wrong types."""
    defaults = dict(config_class.settings)
    given = configured.get(config_class.name) or {}
    for key, value in given.items():
        where = f"config key 'extension_settings.{config_class.name}.{key}'"
        if key not in defaults:
            raise ConfigError(f"{where}: extension {package!r} has no such setting", key="extension_settings")
        expected = _expected_type(defaults[key])
        if expected is not None and not _is_instance(value, expected):
            raise ConfigError(f"{where}: expected {expected.__name__}, not {type(value).__name__}",
                              key="extension_settings")
    return {**defaults, **given}


def _expected_type(default: Any) -> type | None:
    """The type a setting's value must have, from its default (None accepts anything)."""
    if default is None:
        return None
    return float if isinstance(default, float) else type(default)


def _is_instance(value: Any, expected: type) -> bool:
    if isinstance(value, bool) and expected is not bool:
        return False  # YAML's true is not a number or a string
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def _module_exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def _jobs_module(package: str, config_class: type[ExtensionConfig]) -> str | None:
    module_name = f"{package}.{config_class.jobs}"
    if _module_exists(module_name):
        return module_name
    if config_class.jobs == ExtensionConfig.jobs:
        return None  # the default is optional: an extension need not offer jobs
    raise _refused(package, f"jobs module {module_name!r} does not exist")


def _register_backends(package: str, config_class: type[ExtensionConfig]) -> list[type[DataBackend]]:
    module_path, _, attribute = config_class.data_backends.rpartition(".")
    module_name = f"{package}.{module_path}"
    if config_class.data_backends == ExtensionConfig.data_backends and not _module_exists(module_name):
        return []  # the default is optional too
    where = f"data_backends {config_class.data_backends!r}"
    try:
        backends = list(getattr(importlib.import_module(module_name), attribute))
    except Exception as exc:  # the extension's code, whatever it raises
        raise _refused(package, f"{where} failed to load: {_describe(exc)}") from None
    for backend in backends:
        try:
            register_backend(backend)
        except RepositoryError as exc:
            raise _refused(package, f"{where}: {exc}") from None
    return backends


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


_readied: set[type[ExtensionConfig]] = set()
_ready_lock = threading.RLock()  # re-entrant: a ready() may build an app, which readies extensions


def ready_extensions(runtime) -> None:
    """Call each extension's ``ready()``, once per process; raises ConfigError naming one that fails."""
    with _ready_lock:
        for extension in runtime.extensions or ():
            if type(extension) in _readied:
                continue
            _readied.add(type(extension))
            try:
                extension.ready()
            except Exception as exc:  # the extension's code: stop start-up, naming it
                raise _refused(extension.package, f"ready() failed: {_describe(exc)}") from None


def get_extension(name: str) -> ExtensionConfig:
    """Return the loaded extension called ``name``; raises LookupError if it is not loaded here."""
    from service import runtime  # the extension API: the one use of the process-wide handle

    extension = (runtime.installed().extensions or LoadedExtensions()).get(name)
    if extension is None:
        raise LookupError(f"extension {name!r} is not loaded in this process")
    return extension


def extension_module(module_name: str) -> str:
    """Translate an extension job's module (``<name>.<module>``) to the one to import.

    Raises LookupError when its extension is not loaded in this process (removed from config).
    """
    name, _, relative = module_name.partition(".")
    return f"{get_extension(name).package}.{relative}"


def describe_extension(extension: ExtensionConfig) -> dict[str, Any]:
    """Return what ``jobsync extensions list`` shows for one extension."""
    return {
        "name": extension.name,
        "verbose_name": extension.verbose_name or extension.name,
        "package": extension.package,
        "version": extension.version,
        "queues": list(extension.queue_names),
        "jobs_module": extension.jobs_module,
        "backends": [backend.name for backend in extension.backends],
    }


__all__ = [
    "EXTENSIONS_SOURCE",
    "ExtensionConfig",
    "LoadedExtensions",
    "describe_extension",
    "extension_module",
    "get_extension",
    "load_extensions",
    "ready_extensions",
]
