"""hpo.dashboard over a real study: its HTTP API, and the page in a real headless Chromium."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpo.dashboard import main as dashboard_main
from hpo.testing.helpers import ROOT, cli_env

CHROMIUM = Path("/usr/bin/chromium")
#: Kept for a look after the run (the test prints where).
SCREENSHOT_DIR = ROOT / "studies" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def dashboard(small_study) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hpo.dashboard", "--storage", small_study.url, "--port", str(port)],
        cwd=small_study.directory,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                get_json(f"{base}/api/meta")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"dashboard did not start: {server.communicate()[0]}")
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_api_returns_our_study_with_trials_artifacts_and_note(dashboard, small_study):
    summaries = get_json(f"{dashboard}/api/studies")["study_summaries"]
    assert [s["study_name"] for s in summaries] == [small_study.name]
    detail = get_json(f"{dashboard}/api/studies/{summaries[0]['study_id']}")
    assert detail["name"] == small_study.name
    assert len(detail["trials"]) == small_study.n_trials
    assert {p["name"] for p in detail["trials"][0]["params"]} == {"lr", "optimizer"}
    for trial in detail["trials"]:
        assert [a["filename"] for a in trial["artifacts"]] == [
            f"curve-trial-{trial['number']}.png"
        ]
    study_files = {a["filename"] for a in detail["artifacts"]}
    assert any(f.startswith("best-trial-") and f.endswith(".ckpt") for f in study_files)
    assert "python -m hpo.study" in detail["note"]["body"]
    first = detail["trials"][0]
    artifact = first["artifacts"][0]["artifact_id"]
    url = f"{dashboard}/artifacts/{summaries[0]['study_id']}/{first['trial_id']}/{artifact}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_page_in_headless_chromium_shows_the_study(dashboard, small_study, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium (see .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        # The Debian binary, never a downloaded one; an empty profile of our own.
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        try:
            page = browser.new_page()
            page.set_viewport_size({"width": 1600, "height": 1000})
            page.goto(f"{dashboard}/dashboard/")
            page.get_by_text(small_study.name).first.wait_for(timeout=60_000)
            study_id = get_json(f"{dashboard}/api/studies")["study_summaries"][0]["study_id"]
            page.goto(f"{dashboard}/dashboard/studies/{study_id}")
            page.get_by_text("Best Trial").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # the plots draw after the data arrives
            study_body = page.inner_text("body")
            page.screenshot(path=str(SCREENSHOT_DIR / "dashboard-study.png"), full_page=True)
            page.goto(f"{dashboard}/dashboard/studies/{study_id}/trials")
            page.get_by_text(f"{small_study.n_trials} Trials").first.wait_for(timeout=60_000)
            page.get_by_text("curve-trial-0.png").first.wait_for(timeout=60_000)
            body = page.inner_text("body")
            curve = page.locator("img[src*='/artifacts/']").first
            curve.wait_for(timeout=60_000)
            width = page.wait_for_function(
                "img => img.complete && img.naturalWidth", arg=curve.element_handle()
            ).json_value()
            shot = SCREENSHOT_DIR / "dashboard-trials.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert small_study.name in body
    assert f"{small_study.n_trials} Trials" in body
    assert "optimizer" in body and "lr" in body
    for text in (study_body, body):  # the metric's name, never Optuna's placeholder
        assert "val_acc" in text and "Objective 0" not in text
    assert width >= 1000  # the trial's learning curve, drawn to be read
    assert shot.stat().st_size > 10_000
    print(f"screenshots: {SCREENSHOT_DIR}")


def test_cli_refuses_a_missing_storage_and_a_busy_port(small_study, tmp_path, capsys):
    assert dashboard_main(["--storage", f"sqlite:///{tmp_path}/none.db"]) == 2
    err = capsys.readouterr().err
    assert "no study storage" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert dashboard_main(["--storage", small_study.url, "--port", str(port)]) == 2
    assert "already in use" in capsys.readouterr().err
