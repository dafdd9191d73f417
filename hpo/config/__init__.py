"""What a run is, as plain data: run settings, the search space, metrics, presets.

Imports no torch, Lightning or Optuna: everything here can be checked before they load.
"""
