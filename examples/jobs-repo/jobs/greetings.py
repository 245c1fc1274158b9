import sample_greeting  # declared in requirements.txt: imported from this commit's environment

from service.jobs import ChoiceVar, Job, StringVar, register_jobs

name = "Getting started"


class MultilingualHello(Job):
    """Greet someone with a declared dependency: the package is built from a local wheel."""

    who = StringVar(default="world", description="Who to greet", max_length=50)
    language = ChoiceVar(choices=[(code, code) for code in sorted(sample_greeting.GREETINGS)], default="en")

    class Meta:
        name = "Multilingual hello"
        description = "Greet with `sample_greeting`, a package this repository declares."
        has_sensitive_variables = False

    def run(self, *, who, language):
        greeting = sample_greeting.greet(who, language)
        self.logger.info("%s (sample_greeting %s)", greeting, sample_greeting.VERSION)
        return {"greeting": greeting, "package_version": sample_greeting.VERSION}


register_jobs(MultilingualHello)
