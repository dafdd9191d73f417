"""Fit one configuration: data, networks, the LightningModule, optimizers, schedules, losses,
augmentation, Lightning callbacks, the Trainer. Imports no Optuna.

Modules that other layers read before a fit (`registries`, `routing`) import no torch either.
"""
