"""Greetings in several languages: the sample jobs repository's declared dependency."""

VERSION = "1.0"
GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}


def greet(who: str, language: str = "en") -> str:
    return f"{GREETINGS.get(language, GREETINGS['en'])}, {who}!"
