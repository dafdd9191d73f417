"""The shared fixtures live in hpo.testing.fixtures (tests import helpers from hpo.testing)."""

pytest_plugins = ["hpo.testing.fixtures"]
