"""What a trial costs over the plain PyTorch loop it wraps.

    python benchmarks/overhead.py                    # digits and 28×28 inputs, 5 repeats each
    python benchmarks/overhead.py --repeats 7 --only digits

In one process, alternating: (a) a hand-written PyTorch loop (shuffled mini-batches sliced from
the same tensors, forward/backward/step, a validation pass per epoch computing loss and accuracy)
and (b) one trial through `hpo.search.objective.Objective` (Lightning Trainer, EpochCurve, Optuna's
pruning callback, median pruner, SQLite storage), optionally (c) the same with the dashboard
artifacts on. Same network, data, optimizer, batch size and epochs. Each pair runs at E epochs and
at 1 epoch, so the difference b − a splits into a fixed cost per trial and a cost per epoch.
Medians over the repeats are printed, in CPU seconds of this process (one torch thread) and in
wall seconds; the CPU may be shared, so only ratios within a run count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from hpo.config.run import RunConfig  # noqa: E402
from hpo.config.space import SearchSpace  # noqa: E402
from hpo.persist.storages import open_storage  # noqa: E402
from hpo.search.budget import Budget, run_to_budget  # noqa: E402
from hpo.search.logs import quiet_libraries  # noqa: E402
from hpo.search.objective import Objective  # noqa: E402
from hpo.train.data import create_datamodule  # noqa: E402
from hpo.train.data.tensors import Splits, TensorDataModule  # noqa: E402
from hpo.train.models import create_model  # noqa: E402
from hpo.train.optimizers import create_optimizer  # noqa: E402
from hpo.train.registries import DATASETS  # noqa: E402


class Clock:
    """Wall and CPU seconds since start. CPU time of this process is far less disturbed by other
    work on a shared machine (every trial runs on one torch thread), but misses time spent
    waiting, e.g. on SQLite's fsync: both are reported."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


PARAMS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "width": 2}


class Synthetic28(TensorDataModule):
    """Fashion-MNIST-sized inputs: 1×28×28 Gaussian images, 10 classes, generated once."""

    _cache: Splits | None = None

    def load_splits(self) -> Splits:
        if Synthetic28._cache is None:
            g = torch.Generator().manual_seed(0)

            def part(n: int) -> tuple[torch.Tensor, torch.Tensor]:
                y = torch.randint(0, 10, (n,), generator=g)
                x = torch.randn(n, 1, 28, 28, generator=g) + y.view(-1, 1, 1, 1) * 0.1
                return x, y

            Synthetic28._cache = Splits(part(6000), part(1000), part(1000), 10)
        return Synthetic28._cache


def synthetic28(batch_size: int = 64, seed: int = 0) -> TensorDataModule:
    """Benchmark only: Fashion-MNIST-sized generated tensors (6,000 train, 1,000 val)."""
    return Synthetic28(batch_size, seed)


DATASETS.add("synthetic28", synthetic28)


@dataclass(frozen=True)
class Case:
    dataset: str
    epochs: int


def plain_loop(case: Case, epochs: int, seed: int = 0) -> tuple[float, float]:
    """Seconds for the raw PyTorch loop, data already in memory (as for the trial)."""
    dm = create_datamodule(case.dataset, batch_size=PARAMS["batch_size"], seed=seed)
    dm.setup("fit")
    clock = Clock()
    torch.manual_seed(seed)
    net = create_model(
        "mnist_cnn",
        in_channels=dm.in_channels,
        num_classes=dm.num_classes,
        image_size=dm.image_size,
        width=PARAMS["width"],
    )
    opt = create_optimizer(
        PARAMS["optimizer"], net.parameters(), lr=PARAMS["lr"], weight_decay=0.0, momentum=0.9
    )
    x_train, y_train = dm.splits.train
    x_val, y_val = dm.splits.val
    g = torch.Generator().manual_seed(seed)
    bs = PARAMS["batch_size"]
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(y_train), generator=g)
        for i in range(0, len(y_train), bs):
            idx = order[i : i + bs]
            loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            correct = total_loss = 0.0
            for i in range(0, len(y_val), 256):
                logits = net(x_val[i : i + 256])
                total_loss += F.cross_entropy(logits, y_val[i : i + 256], reduction="sum").item()
                correct += (logits.argmax(1) == y_val[i : i + 256]).sum().item()
    return clock.stop()


def one_trial(
    study: optuna.Study, case: Case, epochs: int, artifacts: bool
) -> tuple[float, float]:
    """Seconds for one trial through hpo's loop (`run_to_budget`: count and claim under the
    lock, heartbeat, snapshot pruner, tell): sampling, build, fit, storage."""
    config = RunConfig(
        dataset=case.dataset,
        max_epochs=epochs,
        storage=study.user_attrs["url"],
        artifacts=artifacts,
        quiet=True,
    )
    fixed = {k: v for k, v in PARAMS.items()}
    objective = Objective(config, SearchSpace({}, fixed))
    clock = Clock()
    run_to_budget(study, objective, Budget(len(study.trials) + 1))
    elapsed = clock.stop()
    state = study.trials[-1].state
    assert state == optuna.trial.TrialState.COMPLETE, state
    return elapsed


def new_study(directory: Path, name: str) -> optuna.Study:
    url = f"sqlite:///{directory / (name + '.db')}"
    study = optuna.create_study(
        storage=open_storage(url),  # as `hpo study` opens it
        study_name=name,
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    study.set_user_attr("url", url)
    return study


Times = dict[str, list[tuple[float, float]]]


def measure(case: Case, repeats: int, with_artifacts: bool) -> Times:
    times: Times = {}
    with tempfile.TemporaryDirectory() as tmp:
        studies = {art: new_study(Path(tmp), f"{case.dataset}-art{art}") for art in (False, True)}
        plain_loop(case, 1)  # warm-up: data load, first-call allocations
        one_trial(studies[False], case, 1, False)
        for _ in range(repeats):
            for epochs in (case.epochs, 1):
                times.setdefault(f"a{epochs}", []).append(plain_loop(case, epochs))
                times.setdefault(f"b{epochs}", []).append(
                    one_trial(studies[False], case, epochs, False)
                )
                if with_artifacts:
                    times.setdefault(f"c{epochs}", []).append(
                        one_trial(studies[True], case, epochs, True)
                    )
    return times


def report(case: Case, times: Times) -> str:
    e = case.epochs
    lines = [f"{case.dataset}, {e} epochs, {len(times[f'a{e}'])} repeats (medians):"]
    for index, clock in ((1, "CPU"), (0, "wall")):
        med = {k: statistics.median(t[index] for t in v) for k, v in times.items()}
        a, b = med[f"a{e}"], med[f"b{e}"]
        extra_e, extra_1 = b - a, med["b1"] - med["a1"]
        per_epoch = (extra_e - extra_1) / (e - 1)
        fixed = extra_1 - per_epoch
        lines += [
            f"  [{clock}] plain loop {a:.3f} s, trial {b:.3f} s: ratio b/a {b / a:.3f} "
            f"(1 epoch: {med['a1']:.3f} s vs {med['b1']:.3f} s)",
            f"  [{clock}] fixed cost {fixed:+.3f} s per trial, {per_epoch:+.3f} s per epoch",
        ]
        if f"c{e}" in med:
            c = med[f"c{e}"]
            lines.append(
                f"  [{clock}] with artifacts {c:.3f} s: ratio c/a {c / a:.3f}, "
                f"artifacts {c - b:+.3f} s per trial"
            )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", choices=["digits", "synthetic28"], default=None)
    p.add_argument("--no-artifacts", action="store_true", help="skip the (c) runs")
    args = p.parse_args()
    quiet_libraries(verbose=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(RunConfig.threads)  # what every trial uses (hpo.train.fit.build)
    print(f"torch threads: {torch.get_num_threads()} (RunConfig.threads)", flush=True)
    cases = [Case("digits", 10), Case("synthetic28", 3)]
    ratios = {}
    for case in cases:
        if args.only and case.dataset != args.only:
            continue
        times = measure(case, args.repeats, not args.no_artifacts)
        print(report(case, times), flush=True)
        wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
        ratios[case.dataset] = wall[f"b{case.epochs}"] / wall[f"a{case.epochs}"]
    names = {"digits": "digits", "synthetic28": "28x28"}
    print("ratios: " + " ".join(f"{names[k]}={v:.2f}" for k, v in ratios.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
