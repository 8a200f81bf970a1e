"""`dataflow inspect PATH`: look at any output the pipeline writes, from its files alone.

The kind of output is recognised from what the folder holds, and each kind has its view:

| kind          | recognised by                                   | view                          |
|---------------|-------------------------------------------------|-------------------------------|
| mixture       | manifest.json with `kind: mixture` (`mix`)      | inspect/mixed.py              |
| token-dataset | manifest.json of dataflow/shards.py             | inspect/tokens.py             |
| token-source  | train/ and validation/ token datasets           | inspect/tokens.py             |
| stage         | data/ (and rejected/, stats.json, _SUCCESS)     | inspect/parquet.py            |
| parquet       | Parquet files (rejected/, documents/, any)      | inspect/parquet.py            |
| tokenizer     | a Hugging Face tokenizer.json, or a folder of one (`tokenizer train`) | inspect/tokenizer_file.py |
| pipeline      | a folder of stage outputs (`out/`)              | inspect/funnel.py             |
| search        | search.yaml and runs/ (`dataflow search`)       | trainer/search/reports/inspect.py |

A kind written by a layer above this package (the search folders of trainer/search) is added by that
layer with `add_kind`, as this package imports nothing of it; the CLI adds the search folders' kind
before it inspects. Named views that are not paths (`inspect doc ID PATH`, ...) are subcommands of the same CLI
group (cli/inspect.py); a first argument that is not a subcommand's name is a PATH.
Everything is streamed or memory-mapped: inputs of any size are read without loading them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dataflow.errors import InputError, UserError
from dataflow.inspect.funnel import funnel_table, pipeline_order, stages_in
from dataflow.inspect.mixed import mixture_report
from dataflow.inspect.options import InspectOptions
from dataflow.inspect.parquet import parquet_report, stage_report
from dataflow.inspect.render import render_text
from dataflow.inspect.report import Report, Table
from dataflow.inspect.tokenizer_file import is_tokenizer_file, tokenizer_report
from dataflow.inspect.tokens import token_dataset_report, token_source_report
from dataflow.mix.sequences import is_mixture
from dataflow.shards import MANIFEST, SPLITS, split_path
from dataflow.stage import DATA_DIR
from dataflow.tokenize.tokenizer import TOKENIZER_FILE

__all__ = ["InspectOptions", "detect", "inspect_path", "render_text"]

#: Which options each kind answers; others are refused rather than silently ignored.
OPTIONS = {
    "mixture": {"sample", "verify", "decode", "tokenizer", "sequence"},
    "token-dataset": {"sample", "verify", "decode", "tokenizer"},
    "token-source": {"sample", "verify", "decode", "tokenizer", "where"},
    "stage": {"sample", "where", "verify", "rejected"},
    "parquet": {"sample", "where"},
    "tokenizer": set(),
    "pipeline": set(),
}
ADDED: dict[str, Callable[[Path], bool]] = {}
"""Kinds added by the layers above (`add_kind`): name -> whether a folder is one; checked after the tokenizer."""


def inspect_path(path: str | Path, options: InspectOptions = InspectOptions()) -> Report:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    kind = detect(path)
    given = {name for name in ("sample", "where", "verify", "decode", "tokenizer", "rejected") if getattr(options,
                                                                                                          name)}
    given |= {"sequence"} if options.sequence is not None else set()  # sequence 0 is a sequence
    refused = sorted(given - OPTIONS[kind])
    if refused:
        raise UserError(f"--{refused[0]} does not apply to {path} ({kind}); it applies to: "
                        f"{', '.join(k for k, names in OPTIONS.items() if refused[0] in names)}")
    return VIEWS[kind](path, options)


def detect(path: Path) -> str:
    """The kind of output at `path` (see the table above)."""
    if path.is_file():
        if is_tokenizer_file(path):
            return "tokenizer"
        if path.suffix == ".parquet":
            return "parquet"
        raise InputError(f"{path} is neither a tokenizer.json nor a Parquet file; inspect the folder it is in")
    if (path / MANIFEST).is_file():
        return "mixture" if is_mixture(path) else "token-dataset"
    if is_tokenizer_file(path / TOKENIZER_FILE):
        return "tokenizer"
    for kind, recognise in ADDED.items():
        if recognise(path):
            return kind
    if any((split_path(path, split) / MANIFEST).is_file() for split in SPLITS):
        return "token-source"
    if (path / DATA_DIR).is_dir():
        return "stage"
    if stages_in(path):
        return "pipeline"
    if next(path.rglob("*.parquet"), None) is not None:
        return "parquet"
    raise InputError(f"{path} holds no stage output, Parquet, token dataset or mixture")


def pipeline_report(path: Path, options: InspectOptions) -> Report:
    """A folder of stage outputs: what each is, and the funnel through them."""
    ordered = pipeline_order(path)
    report = Report(kind="pipeline", path=str(path), summary={"stages": len(ordered)})
    report.tables["funnel"] = funnel_table(ordered)
    report.tables["outputs"] = Table(["folder", "kind"], [[child.name, _kind_or_none(child)]
                                                          for child in sorted(path.iterdir()) if child.is_dir()])
    return report


def _kind_or_none(path: Path) -> str:
    try:
        return detect(path)
    except InputError:
        return "-"


VIEWS: dict[str, Callable[[Path, InspectOptions], Report]] = {
    "mixture": mixture_report,
    "token-dataset": token_dataset_report,
    "token-source": token_source_report,
    "stage": stage_report,
    "parquet": parquet_report,
    "tokenizer": tokenizer_report,
    "pipeline": pipeline_report,
}


def add_kind(name: str, recognise: Callable[[Path], bool], view: Callable[[Path, InspectOptions], Report]) -> None:
    """Teach `inspect_path` a kind of folder that a layer above writes: how to recognise one, and its view
    (it takes no options). Adding a kind twice replaces it."""
    ADDED[name], VIEWS[name], OPTIONS[name] = recognise, view, set()
