"""The work clock's model: a trial's work in model seconds, from what its fits compute.

It counts mini-batches trained and the input values they held, plus the values validated —
never a clock — so a trial's work is the same in every run (`WorkMeter` measures it; parallel
workers are scheduled on it: hpo.search.parallel). Fitted on the default study's trials (digits
8×8, batch sizes 16–128, one torch thread: a trial's wall time ≈ 0.057 s + 0.69 ms a mini-batch
+ 0.35 µs a value trained; benchmarks/README.md). Elsewhere it is rough, which costs parallel
workers some waiting, never a different result. No torch here: the coordinator imports it.
"""

PER_TRIAL = 0.057  # s: building, the Trainer, the storage writes around a fit
PER_MINIBATCH = 6.9e-4  # s: one optimizer step's fixed cost (Lightning, the optimizer)
PER_VALUE = 3.5e-7  # s per input value trained on (forward and backward)
PER_VALUE_VALIDATED = PER_VALUE / 3  # forward only
