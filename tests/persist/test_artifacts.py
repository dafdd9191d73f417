"""After a real study: artifacts in the store, attrs and note on the study (hpo.artifacts)."""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from optuna.artifacts import get_all_artifact_meta
from optuna_dashboard import get_note

from hpo.config.run import RunConfig
from hpo.persist.artifacts import artifact_store, default_artifact_dir
from hpo.persist.figures import curve_png
from hpo.persist.internals import base_storage
from hpo.train.fit import build

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_artifact(url: str, artifact_id: str) -> bytes:
    with artifact_store(url).open_reader(artifact_id) as f:
        return f.read()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_every_trial_has_its_learning_curve_png(small_study):
    study = small_study.load()
    assert default_artifact_dir(small_study.url) == small_study.directory / "study-artifacts"
    for trial in study.trials:
        metas = get_all_artifact_meta(trial, storage=base_storage(study))
        assert [m.filename for m in metas] == [f"curve-trial-{trial.number}.png"]
        width, height = png_size(read_artifact(small_study.url, metas[0].artifact_id))
        assert width >= 1000 and height >= 400  # read on the trial page, not a thumbnail


def test_best_checkpoint_restores_the_best_trials_accuracy(small_study):
    study = small_study.load()
    best = study.best_trial
    record = study.user_attrs["best_checkpoint"]
    assert record["trial"] == best.number and record["value"] == best.value
    names = {m.artifact_id: m.filename for m in get_all_artifact_meta(study)}
    assert names[record["checkpoint"]] == f"best-trial-{best.number}.ckpt"
    assert names[record["confusion_matrix"]] == f"confusion-trial-{best.number}.png"
    assert min(png_size(read_artifact(small_study.url, record["confusion_matrix"]))) >= 700

    ckpt_path = small_study.directory / "best.ckpt"
    ckpt_path.write_bytes(read_artifact(small_study.url, record["checkpoint"]))
    state = torch.load(ckpt_path, weights_only=True)["state_dict"]
    identity = study.user_attrs["identity"]
    config = RunConfig(dataset=identity["dataset"], model=identity["model"], seed=identity["seed"])
    built = build({**best.params, **identity["space"]["fixed"]}, config)
    built.module.load_state_dict(state)
    built.module.eval()
    x, y = built.datamodule.splits.val
    with torch.no_grad():
        accuracy = (built.module(x).argmax(1) == y).float().mean().item()
    # The checkpoint holds the last epoch's weights (the curve is rounded to 6 digits).
    assert abs(accuracy - best.user_attrs["curve"][-1]["val_acc"]) < 1e-5


def test_study_attrs_and_note_reproduce_the_study(small_study):
    study = small_study.load()
    attrs = study.user_attrs
    assert attrs["dataset"] == "digits" and attrs["model"] == "mnist_cnn"
    assert attrs["versions"]["hpo"] and attrs["versions"]["optuna"] == "5.0.0"
    assert attrs["config"]["n_trials"] == small_study.n_trials
    assert "--study-name ui-study" in attrs["reproduce"]
    note = get_note(study)
    assert attrs["reproduce"] in note and "hpo best --storage" in note and "-o best.yaml" in note
    # The dashboard names the objective and shows one readable attr per setting.
    assert study.metric_names == ["val_acc"]
    assert attrs["metric"] == "val_acc, maximize" and attrs["sampler"] == "tpe"
    assert attrs["max_epochs"] == 2 and attrs["seed"] == 0
    assert attrs["space.lr"] == "float 0.001 … 0.1, log scale; grid 0.01, 0.05"
    assert attrs["space.optimizer"] == "one of adam, momentum"
    assert attrs["fixed.batch_size"] == 64
    for trial in study.trials:
        assert trial.user_attrs["epochs"] == 2
        assert trial.user_attrs["n_params"] > 0
        assert trial.user_attrs["wall_seconds"] > 0
        assert trial.user_attrs["stop_reason"] == "completed"


def test_a_curve_drawn_after_another_is_the_curve_a_fresh_process_draws(tmp_path):
    """The curve figure is reused from trial to trial: nothing of one trial stays in the next."""

    def rows(n: int, scale: float) -> list[dict[str, float]]:
        keys = ("train_loss", "val_loss", "train_acc", "val_acc")
        return [{"epoch": e, **{k: scale / (e + 1) for k in keys}} for e in range(n)]

    curve_png(rows(15, 9.0), tmp_path / "first.png", "first: a long curve, big losses")
    curve_png(rows(3, 1.0), tmp_path / "again.png", "second")
    draw = "import sys, json; from hpo.persist.figures import curve_png; "
    draw += "curve_png(json.loads(sys.argv[1]), sys.argv[2], 'second')"
    fresh = tmp_path / "fresh.png"

    subprocess.run([sys.executable, "-c", draw, json.dumps(rows(3, 1.0)), str(fresh)], check=True)
    assert (tmp_path / "again.png").read_bytes() == fresh.read_bytes()
    assert (tmp_path / "first.png").read_bytes() != fresh.read_bytes()
