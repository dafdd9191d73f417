"""`python -m hpo <command> …` = the `hpo` console script."""

from hpo.cli import console

console()
