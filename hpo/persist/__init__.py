"""Storages and what is kept in them: storage URLs, locks, liveness and heartbeats, checkpoints,
artifacts, notes. `internals` is the one module that touches Optuna's private attributes."""
