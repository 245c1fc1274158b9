"""Job input variables (Nautobot-compatible): each cleans raw input and describes itself."""

from .base import REQUIRED_MESSAGE, ScriptVariable, Variable, is_variable
from .choices import ChoiceVar, MultiChoiceVar
from .network import IPAddressVar, IPAddressWithMaskVar, IPNetworkVar
from .objects import FileVar, MultiObjectVar, ObjectVar, UploadedFile
from .scalars import BooleanVar, DryRunVar, IntegerVar, JSONVar, StringVar, TextVar

__all__ = [
    "BooleanVar",
    "ChoiceVar",
    "DryRunVar",
    "FileVar",
    "IPAddressVar",
    "IPAddressWithMaskVar",
    "IPNetworkVar",
    "IntegerVar",
    "JSONVar",
    "MultiChoiceVar",
    "MultiObjectVar",
    "ObjectVar",
    "REQUIRED_MESSAGE",
    "ScriptVariable",
    "StringVar",
    "TextVar",
    "UploadedFile",
    "Variable",
    "is_variable",
]
