"""The report of the test pipeline run, opened in headless Chromium (Debian's `chromium`; .ci/run
installs it): every section renders, the console stays silent, and a screenshot is saved.

The flags are those a root CI container needs (no sandbox, no GPU) and those that keep
Chromium off the network (no QUIC, no background networking, component updates or sync), with
a new empty profile. Console messages go to stderr as `CONSOLE` lines under
`--enable-logging=stderr`; the report has no script, so any such line is a failure (a blocked
fetch under the report's Content-Security-Policy is one).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dataflow.report import PIPELINE_SECTIONS, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                          "(apt-get install -y chromium; .ci/run does it)")]


def open_in_chromium(page: Path, profile: Path, *extra: str) -> tuple[str, list[str]]:
    """(stdout, console lines) of one headless Chromium run on `page`."""
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           *extra, page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_console_lines_are_caught_on_a_page_that_fetches_from_the_network(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'none'\"></head><body><img src=\"https://example.com/x.png\"></body></html>")
    _, console = open_in_chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("example.com" in line for line in console)


def test_report_renders_every_section_without_console_errors_and_saves_a_screenshot(pipeline_from_config, tmp_path):
    out = pipeline_from_config.parent / "out"
    page = write_report(out, tmp_path / "report.html")
    dom, console = open_in_chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    sections = dict(re.findall(r'<section id="([a-z]+)" data-section="[a-z]+"><h2>[^<]*</h2>(.*?)</section>', dom,
                               flags=re.S))
    assert list(sections) == ["funnel", "rejections", "distributions", "duplicates", "contamination", "mixture"]
    assert len(sections) == len(PIPELINE_SECTIONS)
    for name in ("funnel", "rejections", "distributions", "duplicates", "mixture"):
        assert "<svg" in sections[name], name  # a plot was drawn, not only a placeholder
    assert "<table>" in sections["contamination"] and ">sample<" in sections["contamination"]
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    screenshot = SCREENSHOT_DIR / "report.png"
    screenshot.unlink(missing_ok=True)
    _, console = open_in_chromium(page, tmp_path / "profile-2", "--window-size=1200,12000", "--hide-scrollbars",
                                  f"--screenshot={screenshot}")
    assert console == [] and screenshot.stat().st_size > 50_000
