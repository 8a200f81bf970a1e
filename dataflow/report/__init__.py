"""`dataflow report RUN_FOLDER`: what a pipeline run did, as one self-contained HTML file.

    dataflow report out/ --output out/report.html
    dataflow report out/ --runs out/runs/* --search search/mix1

One module per section, each reading the stage folders it needs with bounded pyarrow scans
(only the needed columns, in batches; the accumulators of dataflow/inspect/):

| section          | module            | reads                                                    |
|------------------|-------------------|----------------------------------------------------------|
| funnel           | funnel.py         | stats.json of every stage                                |
| rejections       | rejections.py     | stats.json, 3 examples per rule from rejected/           |
| distributions    | distributions.py  | data/ of extract and of the final documents              |
| duplicates       | duplicates.py     | the dedup stage's cluster columns                        |
| contamination    | contamination.py  | contamination.json of decontaminate                      |
| mixture          | mixture.py        | manifest.json of each mix output                         |
| training, search | training.py       | metrics.jsonl of each --runs folder, PNGs of --search    |

html.py writes the file (inline CSS and SVG, no script, a CSP that forbids any fetch) and
plots.py draws with matplotlib (why: its docstring).
"""

from __future__ import annotations

from pathlib import Path

from dataflow.atomic import write_text
from dataflow.errors import InputError
from dataflow.report import html
from dataflow.report.contamination import contamination_section
from dataflow.report.distributions import distributions_section
from dataflow.report.duplicates import duplicates_section
from dataflow.report.funnel import funnel_section
from dataflow.report.mixture import mixture_section
from dataflow.report.rejections import rejections_section
from dataflow.report.stages import RunStages
from dataflow.report.training import search_section, training_section

REPORT_FILE = "report.html"
PIPELINE_SECTIONS = (funnel_section, rejections_section, distributions_section, duplicates_section,
                     contamination_section, mixture_section)


def write_report(folder: Path, output: Path | None = None, runs: list[Path] = (), search: list[Path] = ()) -> Path:
    """Write the report of the run folder `folder` (default: `folder/report.html`); return its path."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the pipeline's run folder (its --output)")
    stages = RunStages.of(folder)
    sections = [build(stages) for build in PIPELINE_SECTIONS]
    if runs:
        sections.append(training_section(list(runs)))
    sections += [search_section(path) for path in search]
    subtitle = f"{folder.resolve()}: {len(stages.order)} stage outputs" + (f", {len(runs)} training runs" if runs
                                                                           else "")
    return write_text(output or folder / REPORT_FILE,
                                 html.render(f"dataflow report: {folder.resolve().name}", subtitle, sections))
