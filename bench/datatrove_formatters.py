"""datatrove's FTFYFormatter or PIIFormatter over a JSONL of texts: the peer side of
bench/text_repair.py and bench/text_safety.py. Runs in datatrove's own venv:

    $DATATROVE_PYTHON bench/datatrove_formatters.py ftfy|pii texts.jsonl out.jsonl

Input lines: {"id", "text"}; output lines: {"id", "text"} after the formatter, with the default
settings (FTFYFormatter: ftfy's encoding fixes, no normalisation; PIIFormatter: e-mail
addresses and public IP addresses replaced by fixed look-alike values). The last stdout line is
a JSON object with the CPU seconds the formatter took on all texts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.peers import datatrove_problem, datatrove_python


def run_formatter(kind: str, rows: list[dict]) -> tuple[dict[str, str], float] | None:
    """From our venv: (id -> formatted text, CPU seconds) by datatrove's formatter, or None without its venv."""
    problem = datatrove_problem()
    if problem:
        print(f"(datatrove side left out: {problem})")
        return None
    python = datatrove_python()
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.jsonl", Path(folder) / "out.jsonl"
        source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        done = subprocess.run([python, __file__, kind, str(source), str(target)], capture_output=True, text=True,
                              check=True)
        texts = {row["id"]: row["text"] for row in map(json.loads, target.read_text(encoding="utf-8").splitlines())}
        return texts, json.loads(done.stdout.strip().splitlines()[-1])["cpu_seconds"]


def main(kind: str, source: str, target: str) -> None:
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter

    formatter = FTFYFormatter() if kind == "ftfy" else PIIFormatter()
    with open(source, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    formatter.format("warm up é")
    started = time.process_time()
    texts = [formatter.format(row["text"]) for row in rows]
    seconds = time.process_time() - started
    with open(target, "w", encoding="utf-8") as handle:
        for row, text in zip(rows, texts):
            handle.write(json.dumps({"id": row["id"], "text": text}, ensure_ascii=False) + "\n")
    print(json.dumps({"cpu_seconds": seconds, "texts": len(rows)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
