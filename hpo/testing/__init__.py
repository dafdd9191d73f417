"""Helpers the tests reuse (as optuna.testing): run the CLI as a real subprocess, tiny search
spaces, generated dataset files, the real PostgreSQL and Redis, a worker process for storage
tests, and pytest fixtures (`pytest_plugins = ["hpo.testing.fixtures"]`)."""
