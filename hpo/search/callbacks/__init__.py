"""Lightning callbacks that talk to the Optuna trial being fitted, one per file: the checkpoint
whose path the trial records, the dashboard artifacts. (Pruning is optuna-integration's
`PyTorchLightningPruningCallback`.)"""
