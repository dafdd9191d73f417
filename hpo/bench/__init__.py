"""Fair comparisons of search methods (as syne-tune's benchmarking/): an experiment is
product(methods, seeds) on one benchmark; methods; tabular replay benchmarks and their builds."""
