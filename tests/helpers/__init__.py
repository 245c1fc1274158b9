"""Helpers shared by the tests: factories, servers, git repositories, samples, HTTP clients."""
