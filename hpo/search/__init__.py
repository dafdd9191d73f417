"""One study to its budget: open (or resume) a study, the objective that fits one trial, the
budget loop, samplers, pruners, console progress, worker processes."""
