"""hpo: hyperparameter search for image CNNs on Optuna and PyTorch Lightning.

python -m hpo.study --sampler tpe
"""

__version__ = "0.1.0"
