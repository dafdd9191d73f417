"""Lightning callbacks of a fit, one per file: the epoch curve, the divergence stop, the stop at
a time-to-target, ResNet fine-tuning, the stop on SIGTERM/SIGINT. None of them knows Optuna."""
