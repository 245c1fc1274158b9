"""The worker: Dramatiq actors, claiming runs, running job code in a child process, recording outcomes."""
