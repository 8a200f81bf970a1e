"""`dataflow inspect run RUN`: a training run folder, from a loss spike (or any step) back to its pages.

    dataflow inspect run out/runs/demo-tiny --spikes      # every guard event: its documents, worst first
    dataflow inspect run out/runs/demo-tiny --step 1234   # the documents of any step's batch

A run folder holds the resolved `config.yaml` and `events.jsonl` (trainer/train.py). The data
order is a pure function of the mixture, its seed and the stream position, so a step's windows
are recomputed rather than stored: the `start` events give the position and windows per step
where training (re)started, a `rollback` event the step it went back to and the position the
stream went on from. `dataflow/mix/provenance.py` maps the windows to documents; each document
is then looked up in the stage the source was tokenised from (its train manifest's
`config.input`), for a text snippet, its `filter_values` (which rule would have caught it at
what threshold) and the `dataflow inspect doc ... --raw` command that prints its WARC record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dataflow.errors import InputError, UserError
from dataflow.inspect.documents import describe_documents
from dataflow.inspect.report import Report, Table
from dataflow.mix.mixture import MixedStream, load_mixture, open_stream
from dataflow.mix.provenance import source_roots, stream_documents

CONFIG, EVENTS = "config.yaml", "events.jsonl"
GUARD_EVENT = "spike_skipped"


def run_report(path: Path, *, spikes: bool = False, step: int | None = None, top: int = 10) -> Report:
    """The run's guard events; with `spikes` their documents, with `step` the documents of that step
    (`top` of each, the highest excess loss first when the losses are known)."""
    config, events = _read_run(path)
    guard_events = [event for event in events if event["event"] == GUARD_EVENT]
    rolled_back = {event["step"] for event in events if event["event"] == "rollback"}
    report = Report(kind="run", path=str(path), summary={
        "mixture": config["data"]["mixture"], "seq_len": config["model"]["seq_len"],
        "steps (max_steps)": config["max_steps"], "guard events": len(guard_events), "rollbacks": len(rolled_back)})
    report.tables["guard events"] = Table(
        ["step", "action", "loss", "loss z", "grad norm z", "documents", "worst document"],
        [[e["step"], "rollback" if e["step"] in rolled_back else "skip", e["loss"], e["loss_z"], e["grad_norm_z"],
          e.get("num_documents"), (e.get("documents") or [{}])[0].get("id")] for e in guard_events])
    if not (spikes or step is not None):
        return report
    stream, roots = open_run_stream(config)
    shown = []
    if spikes:
        for event in guard_events:
            documents = event.get("documents") or stream_documents(stream, roots, *event["data_window"])
            shown += [{"step": event["step"], "rank": rank, **document}
                      for rank, document in enumerate(documents[:top], 1)]
    if step is not None:
        start, stop = step_window(events, step)
        report.summary[f"step {step} windows"] = [start, stop]
        documents = _with_event_losses(stream_documents(stream, roots, start, stop),
                                       [event for event in guard_events if event["data_window"] == [start, stop]])
        report.summary[f"step {step} documents"] = len(documents)
        shown += [{"step": step, "rank": rank, **document} for rank, document in enumerate(documents[:top], 1)]
    report.samples = describe_documents(shown, roots)
    return report


def step_window(events: list[dict[str, Any]], step: int) -> tuple[int, int]:
    """Positions [start, stop) of the mixed stream that `step` read, the last time it ran.

    Training (re)starts at a `start` event (its step, `data_position`, `windows_per_step`) or
    goes back at a `rollback` (to `to_step`, the stream going on from the end of its
    `data_window`); the last of these at or before `step`, in file order, is where `step` ran from.
    """
    origin = None
    for event in events:
        if event["event"] == "start":
            per_step = event["windows_per_step"]
            if event["step"] <= step:
                origin = (event["step"], event["data_position"], per_step)
        elif event["event"] == "rollback" and event["to_step"] <= step:
            origin = (event["to_step"], event["data_window"][1], per_step)
    if origin is None:
        raise UserError(f"step {step} is before the first start event of the run; give a step >= 0")
    first_step, position, per_step = origin
    start = position + (step - first_step) * per_step
    return start, start + per_step


def _with_event_losses(documents: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A step's documents, carrying the losses its guard event recorded (those ranked first, worst first)."""
    recorded = {(d["source"], d["shard"], d["document"]): d for e in events for d in e.get("documents", [])}
    for document in documents:
        seen = recorded.get((document["source"], document["shard"], document["document"]))
        if seen:
            document.update(mean_loss=seen["mean_loss"], excess_loss=seen["excess_loss"])
    return sorted(documents, key=lambda d: -d.get("excess_loss", float("-inf")))


def _read_run(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not (path / CONFIG).is_file() or not (path / EVENTS).is_file():
        raise InputError(f"{path} is not a training run folder: it needs {CONFIG} and {EVENTS} "
                         "(the out_dir of `dataflow train`)")
    config = yaml.safe_load((path / CONFIG).read_text(encoding="utf-8"))
    events = [json.loads(line) for line in (path / EVENTS).read_text(encoding="utf-8").splitlines() if line]
    return config, events


def open_run_stream(config: dict[str, Any]) -> tuple[MixedStream, dict[str, str]]:
    """The stream the run trained on (its mixture's training sources, at the model's seq_len) and the source folders."""
    mixture = load_mixture(config["data"]["mixture"])
    return open_stream(mixture, config["model"]["seq_len"]), source_roots(mixture)
