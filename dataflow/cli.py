"""The `dataflow` command: one entry point, subcommands registered here (dolma's pattern).

Each subcommand is a thin wrapper over `dataflow`, `jobs` or `trainer` code; Spark and torch
are imported inside the command functions so that `import dataflow` stays light. Failures a
user can fix print one line; `--debug` shows the traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from dataflow.errors import UserError, worker_error_line
from dataflow.stages import STAGES as REGISTRY

#: Stage name -> job module (the registry's stages, then the whole pipeline); `dataflow run NAME ARGS`
#: calls `<module>.main(ARGS)`.
STAGES = {**{stage.name: stage.job for stage in REGISTRY}, "pipeline": "jobs.pipeline"}



class PathDefaultGroup(TyperGroup):
    """A command group whose first argument, when it names no subcommand, is a PATH for `path`:
    `dataflow inspect out/docs` runs `dataflow inspect path out/docs`, while named views
    (`inspect doc ID PATH`, ...) stay subcommands. A folder named like a subcommand is
    reached as `inspect path NAME` or `inspect ./NAME`."""

    default_command = "path"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web crawls to pretraining tokens, and the search for the best data mixture.")
inspect_app = typer.Typer(cls=PathDefaultGroup, no_args_is_help=True,
                          help="Look at any output (`dataflow inspect PATH`) or a named view (`inspect doc`, "
                               "`inspect run`, `inspect explain`, `inspect dups`, `inspect contamination`).")
config_app = typer.Typer(no_args_is_help=True, help="Pipeline configuration.")
tokenizer_app = typer.Typer(no_args_is_help=True, help="Tokenizers: train a byte-level BPE on a sample of documents.")
classifiers_app = typer.Typer(no_args_is_help=True, help="fastText quality classifiers.")
benchmarks_app = typer.Typer(no_args_is_help=True, help="Benchmark test sets for decontamination.")
dedup_app = typer.Typer(no_args_is_help=True, help="Duplicate look-ups in a dedup stage output.")
filters_app = typer.Typer(no_args_is_help=True, help="Filter rules: per-language thresholds from reference text.")
search_app = typer.Typer(no_args_is_help=True, help="Searches over proxy training runs: `search mixture` picks the "
                                                    "data mixture for a final run's budget.")
app.add_typer(inspect_app, name="inspect")
app.add_typer(config_app, name="config")
app.add_typer(tokenizer_app, name="tokenizer")
app.add_typer(classifiers_app, name="classifiers")
app.add_typer(benchmarks_app, name="benchmarks")
app.add_typer(dedup_app, name="dedup")
app.add_typer(filters_app, name="filters")
app.add_typer(search_app, name="search")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def run(ctx: typer.Context, stage: Annotated[str, typer.Argument(help=f"one of: {', '.join(STAGES)}")]) -> None:
    """Run a pipeline stage as a Spark job (local[*] here; the same job file runs under spark-submit).

    Arguments after STAGE go to the job; `dataflow run STAGE --help` lists them.
    """
    if stage in ("--help", "-h"):  # the option is off so that `STAGE --help` reaches the job
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
    code = importlib.import_module(STAGES[stage]).main(list(ctx.args))
    raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def train(ctx: typer.Context) -> None:
    """Train a GPT proxy on a data mixture (one process; use torchrun -m trainer.train for many).

    All arguments go to the trainer: `dataflow train --help` lists them (--config, --resume, ...).
    """
    from trainer.train import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def export(ctx: typer.Context) -> None:
    """Export a stage's documents as JSON Lines or a Hugging Face dataset folder (jobs/export.py).

    All arguments go to the job: `dataflow export --help` lists them (STAGE_OUTPUT, --format, --output, ...).
    """
    from jobs.export import main as export_main

    raise typer.Exit(export_main(list(ctx.args)))


@app.command("export-model", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def export_model(ctx: typer.Context) -> None:
    """Export a training run as a Hugging Face transformers folder (LlamaForCausalLM; trainer/hf_export.py).

    All arguments go to the exporter: `dataflow export-model --help` lists them (RUN_DIR, --output, --checkpoint).
    """
    from trainer.hf_export import main as export_model_main

    raise typer.Exit(export_model_main(list(ctx.args)))


@app.command("sample-warcs")
def sample_warcs(out_dir: Annotated[Path, typer.Argument(help="folder for the WARC files and manifest.jsonl")],
                 pages: Annotated[int, typer.Option(help="HTML pages to write")] = 2000,
                 files: Annotated[int, typer.Option(help="WARC files to spread them over")] = 4,
                 seed: Annotated[int, typer.Option(help="same seed, byte-identical files")] = 0) -> None:
    """Write realistic sample WARC files from text the project carries (the offline default input)."""
    from dataflow.samples import write_sample_warcs

    summary = write_sample_warcs(out_dir, num_pages=pages, num_files=files, seed=seed)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.counts.items()))
    typer.echo(f"wrote {len(summary.warc_paths)} WARC files ({summary.num_bytes / 1e6:.1f} MB) to {out_dir}: {kinds}")
    typer.echo(f"ground truth: {summary.manifest_path}; sample benchmark: {summary.benchmark_path}")


@app.command()
def report(folder: Annotated[Path, typer.Argument(help="pipeline run folder (the pipeline's --output)")],
           output: Annotated[Optional[Path],
                             typer.Option(help="HTML file to write [default: FOLDER/report.html]")] = None,
           runs: Annotated[Optional[list[Path]], typer.Option(help="training run folder (metrics.jsonl); "
                                                                   "repeatable, or a shell glob")] = None,
           search: Annotated[Optional[list[Path]], typer.Option(help="mixture search folder: its PNG plots; "
                                                                     "repeatable")] = None) -> None:
    """One self-contained HTML file: funnel, rejections, distributions, duplicates, contamination, mixture, training."""
    from dataflow.report import write_report

    typer.echo(f"wrote {write_report(folder, output, runs or [], search or [])}")


@config_app.command("show")
def config_show(config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file")] = None) -> None:
    """Print the resolved pipeline config, every default filled in."""
    import yaml

    from dataflow.pipeline import load_pipeline_config

    typer.echo(yaml.safe_dump(load_pipeline_config(config).model_dump(mode="json"), sort_keys=False))


@tokenizer_app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                       add_help_option=False)
def tokenizer_train(ctx: typer.Context) -> None:
    """Train a byte-level BPE on a seeded sample of documents drawn in Spark (jobs/train_tokenizer.py).

    All arguments go to the job: `dataflow tokenizer train --help` lists them (--input, --vocab-size, --output, ...).
    """
    from jobs.train_tokenizer import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@inspect_app.command("path")
def inspect_any(path: Annotated[Path, typer.Argument(help="any output: stage folder, rejected/, token source or "
                                                          "dataset, mixture, tokenizer.json, pipeline folder")],
                sample: Annotated[int, typer.Option(help="show N random rows, documents or sequences")] = 0,
                where: Annotated[Optional[str], typer.Option(help="filter rows first, e.g. \"language == 'de' and "
                                                                  "len(text) > 500\"")] = None,
                verify: Annotated[bool, typer.Option(help="check integrity: shard hashes, counts vs "
                                                          "stats.json")] = False,
                decode: Annotated[int, typer.Option(help="decode N random documents or sequences to text")] = 0,
                rejected: Annotated[bool,
                                    typer.Option(help="a stage's rejected rows: examples of every reason")] = False,
                examples: Annotated[int, typer.Option(help="examples per reason with --rejected")] = 3,
                tokenizer: Annotated[Optional[Path], typer.Option(
                    help="tokenizer.json for --decode if the manifest's path moved (sha256 checked)")] = None,
                sequence: Annotated[Optional[int], typer.Option(
                    help="a mixture output: the documents inside sequence N (ids, URLs, token ranges)")] = None,
                top: Annotated[int, typer.Option(help="values per breakdown table")] = 10,
                bins: Annotated[int, typer.Option(help="bins per histogram")] = 20,
                seed: Annotated[int, typer.Option(help="seed of the random picks")] = 0,
                as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> None:
    """Counts, schema, breakdowns, funnel, histograms, samples and integrity of any output."""
    from dataflow.inspect import InspectOptions, inspect_path, render_text
    from trainer.search.registry import add_inspect_view

    add_inspect_view()
    report = inspect_path(path, InspectOptions(sample=sample, where=where, verify=verify, decode=decode,
                                               rejected=examples if rejected else 0,
                                               tokenizer=str(tokenizer) if tokenizer else None, top=top, bins=bins,
                                               seed=seed, sequence=sequence))
    typer.echo(json.dumps(report.to_json(), indent=1, default=str, ensure_ascii=False) if as_json
               else render_text(report))


@inspect_app.command("doc")
def inspect_doc(doc_id: Annotated[str, typer.Argument(help="document id")],
                path: Annotated[Path, typer.Argument(help="stage output folder")],
                raw: Annotated[bool, typer.Option(help="also print the WARC record's headers and payload "
                                                       "start")] = False) -> None:
    """Print one document, its provenance, and optionally the WARC bytes it came from."""
    from dataflow.doc_lookup import find_document, read_record_at

    found = find_document(str(path), doc_id)
    if found is None:
        raise UserError(f"no document with id {doc_id} in {path}")
    row, part = found
    text = row.pop("text", None)
    typer.echo(json.dumps({**row, "found_in": part}, indent=2, default=str, ensure_ascii=False))
    typer.echo("\n" + (text or "(no text)"))
    if raw and row.get("warc_path"):
        typer.echo("\n--- WARC record ---\n" + read_record_at(row["warc_path"], row["warc_offset"]))


@inspect_app.command("run")
def inspect_run(path: Annotated[Path, typer.Argument(help="training run folder (the out_dir of `dataflow train`)")],
                spikes: Annotated[bool, typer.Option(help="every skipped or rolled-back step: its documents, "
                                                          "the highest excess loss first")] = False,
                step: Annotated[Optional[int], typer.Option(help="the documents of this step's batch")] = None,
                top: Annotated[int, typer.Option(help="documents shown per step")] = 10,
                as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> None:
    """From a loss spike (or any step) back to its documents: ids, URLs, losses, filter values, raw pages."""
    from dataflow.inspect import render_text
    from dataflow.inspect.run import run_report

    report = run_report(path, spikes=spikes, step=step, top=top)
    typer.echo(json.dumps(report.to_json(), indent=1, default=str, ensure_ascii=False) if as_json
               else render_text(report))


@inspect_app.command("explain")
def inspect_explain(
        doc: Annotated[str, typer.Argument(help="a text file, or a document id (with --input)")],
        input: Annotated[Optional[Path], typer.Option("--input", help="stage folder holding the document id")] = None,
        config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file (its filter: section)")] = None,
        language: Annotated[Optional[str], typer.Option(help="language of the text [default: the document's, "
                                                                 "or lid.176 on a text file]")] = None) -> None:
    """Every filter rule's measured value, thresholds and verdict for one document."""
    from dataflow.filters.explain import explain
    from dataflow.pipeline import load_pipeline_config

    filter_config = load_pipeline_config(config).filter
    text, url, found_language = _document_for_explain(doc, input)
    typer.echo(explain(text, filter_config, language or found_language, url))


def _document_for_explain(doc: str, stage_dir: Optional[Path]) -> tuple[str, str | None, str | None]:
    """(text, url, language) of a text file or of a document id in `stage_dir`."""
    if Path(doc).is_file():
        from dataflow.extract import langid

        text = Path(doc).read_text(encoding="utf-8")
        return text, None, langid.identify([text], langid.default_model_path())[0][0] or None
    if stage_dir is None:
        raise UserError(f"{doc} is not a file; to explain a document id, give the folder holding it with --input")
    from dataflow.doc_lookup import find_document

    found = find_document(str(stage_dir), doc)
    if found is None:
        raise UserError(f"no document with id {doc} in {stage_dir}")
    row, part = found
    typer.echo(f"{doc} found in {part}/ of {stage_dir}; a filter output keeps C4-edited text, so explain "
               "documents from the filter's input to see what the stage saw")
    return row.get("text") or "", row.get("url"), row.get("language")


@filters_app.command("calibrate")
def filters_calibrate(
        reference: Annotated[list[str], typer.Option(help="LANG=PATH: reference text of a language (text, JSONL or "
                                                          "Parquet); repeatable")],
        output: Annotated[Path, typer.Option(help="YAML file for the proposed `filter: languages:` thresholds")],
        percentile: Annotated[float, typer.Option(help="share of the reference (%) a proposed bound may reject")] = 1.0,
        doc_chars: Annotated[int, typer.Option(help="characters per document when a text file is cut into "
                                                    "documents")] = 2000,
        tighten: Annotated[bool, typer.Option(help="also tighten bounds the reference stays far inside "
                                                   "[default: only loosen]")] = False,
        config: Annotated[Optional[Path],
                          typer.Option(help="pipeline YAML file (its filter: section)")] = None) -> None:
    """Propose per-language thresholds at a percentile of each rule's values on reference text (FineWeb-2's idea)."""
    from dataflow.filters.calibrate import calibrate, format_table, overrides_yaml
    from dataflow.pipeline import load_pipeline_config

    references: dict[str, list[str]] = {}
    for item in reference:
        language, sep, path = item.partition("=")
        if not sep or not language or not path:
            raise UserError(f"--reference {item!r}: give LANG=PATH, e.g. --reference zh=zh_sentences.txt.gz")
        references.setdefault(language, []).append(path)
    result = calibrate(references, load_pipeline_config(config).filter, percentile, doc_chars, tighten=tighten)
    output.write_text(overrides_yaml(result), encoding="utf-8")
    typer.echo(format_table(result) + f"\nwrote {output} (use it with --config, or merge it into yours)")


@classifiers_app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                         add_help_option=False)
def classifiers_train(ctx: typer.Context) -> None:
    """Train a fastText quality classifier (DCLM defaults) with a held-out evaluation and a JSON card.

    Arguments go to the trainer; `dataflow classifiers train --help` lists them.
    """
    from classifiers import train

    raise typer.Exit(train.main(list(ctx.args)))


@inspect_app.command("contamination")
def inspect_contamination(path: Annotated[Path, typer.Argument(help="decontaminate output folder")],
                          benchmark: Annotated[Optional[str], typer.Option(help="show only this benchmark")] = None,
                          examples: Annotated[int, typer.Option(help="leaked items shown per benchmark")] = 3) -> None:
    """Per benchmark: items, items found, documents affected, and leaked items with their text."""
    from dataflow.decontaminate.report import format_report, read_report

    typer.echo(format_report(read_report(str(path)), benchmark=benchmark, examples=examples))


@benchmarks_app.command("list")
def benchmarks_list(registry: Annotated[Optional[list[Path]],
                                        typer.Option(help="user registry YAML; repeatable")] = None,
                    benchmarks_dir: Annotated[Optional[str],
                                              typer.Option(help="folder of the built-in registry's files")] = None,
                    config: Annotated[Optional[Path],
                                      typer.Option(help="pipeline YAML (its decontaminate section)")] = None) -> None:
    """The file formats the loader reads and every registry entry, with whether its files are there."""
    from dataflow.decontaminate.benchmarks import FORMATS, describe_registry, load_registry
    from dataflow.pipeline import load_pipeline_config

    settings = load_pipeline_config(config).decontaminate
    registries = [*settings.registries, *map(str, registry or [])]
    specs = load_registry(registries, benchmarks_dir or settings.benchmarks_dir)
    typer.echo(f"formats: {', '.join(sorted(set(FORMATS)))} (each also gzip-compressed)")
    typer.echo(f"registries: built-in{''.join(', ' + path for path in registries)}\n")
    for line in describe_registry(specs):
        typer.echo(line)


@inspect_app.command("dups")
def inspect_dups(path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
                 top: Annotated[int, typer.Option(help="how many clusters, largest first")] = 20,
                 lines: Annotated[int, typer.Option(help="non-empty lines of each text to show")] = 6) -> None:
    """The largest duplicate clusters: the kept text beside a removed one."""
    from rich.console import Console
    from rich.table import Table

    from dataflow.dedup.report import largest_clusters

    console = Console()
    for cluster in largest_clusters(str(path), top):
        reasons = Counter(member.reason for member in cluster.removed)
        table = Table(title=f"cluster {cluster.id}: {cluster.size} rows, removed "
                            + ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items())),
                      show_lines=True, expand=True)
        table.add_column(f"kept {cluster.kept.id}", ratio=1)
        table.add_column(f"removed {cluster.removed[0].id}" if cluster.removed else "removed", ratio=1)
        table.add_row(_head(cluster.kept.text, lines), _head(cluster.removed[0].text, lines) if cluster.removed else "")
        console.print(table)


@dedup_app.command("near")
def dedup_near(doc_id: Annotated[str, typer.Argument(help="document id")],
               path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
               limit: Annotated[int, typer.Option(help="most rows to list")] = 20) -> None:
    """Near duplicates of one document: its cluster and its LSH candidates, with Jaccard similarities."""
    from dataflow.dedup.report import near_duplicates

    target, found = near_duplicates(str(path), doc_id, limit)
    typer.echo(f"{doc_id}: {target.reason or 'kept'}, cluster {target.cluster or '(none)'}")
    if not found:
        typer.echo("no near duplicates or LSH candidates")
        return
    typer.echo(f"{'exact J':>8} {'MinHash J':>10}  {'cluster':<8} {'row':<16} id")
    for member in found:
        same = "same" if target.cluster and member.cluster == target.cluster else "other"
        typer.echo(f"{member.exact:8.3f} {member.estimated:10.3f}  {same:<8} {member.reason or 'kept':<16} {member.id}")


@search_app.command("mixture")
def search_mixture(config: Annotated[Path, typer.Option(help="search file (YAML, trainer/search/config.py)")],
                   resume: Annotated[bool, typer.Option(help="finish a killed search: only unfinished runs run "
                                                             "(a half-done run resumes from its checkpoint)")] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False,
                   dry_run: Annotated[bool,
                                      typer.Option(help="print the resolved search file and exit")] = False) -> None:
    """Sample feasible mixtures, train a proxy on each, fit, pick the best and confirm it against baselines.

    The fit is chosen by cross-validation among four (see `search fit --help` and docs/search/mixture.md);
    summary.json records every fit's cross-validated MAE and Spearman and the chosen one.

    Verdicts: "the pick beats X by M bits/byte, more than the seed std S" means the confirmed mean of
    the pick is lower than baseline X's by more than the larger of their seed stds; "does NOT beat"
    means the margin is within seed noise or negative: look at the fit's Spearman (below ~0.7 the
    proxies do not rank mixtures reliably) and at whether the pick sits on a max_epochs bound.
    """
    import logging

    import yaml

    from trainer.search.searches.mixture_config import load_mixture_config

    search = load_mixture_config(config)
    if dry_run:
        typer.echo(yaml.safe_dump(search.model_dump(mode="json"), sort_keys=False), nl=False)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("trainer", "trainer.metrics", "py4j"):  # the search logs each run's end; runs keep their own logs
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from trainer.search.searches.mixture import run_mixture_search

    summary = run_mixture_search(search, resume=resume, retry_failed=retry_failed)
    fit = summary["fit"]
    typer.echo(f"fit ({fit['cross_validation']}): " + "; ".join(
        f"{name} MAE {q['cv_mae']:.4f} Spearman {q['cv_spearman']:.3f}" for name, q in fit["models"].items())
        + f"; chosen {fit['chosen']}")
    typer.echo("\n".join(summary["verdicts"]))
    typer.echo(f"pick: {search.out_dir}/best/mixture.yaml; report: dataflow inspect {search.out_dir}")
    _failure_note(summary, "mixture", search.out_dir)


def _failure_note(summary: dict, kind: str, out_dir: str) -> None:
    """After a search with failed runs: how many, where to read why, and the command that reruns them."""
    from trainer.search.engine.runner import retry_command

    if summary.get("failures"):
        typer.echo(f"{len(summary['failures'])} runs failed (reasons: dataflow search status {out_dir}); "
                   f"rerun them with: {retry_command(kind, out_dir)}")


def _search_logging() -> None:
    """INFO lines of the search itself; each run keeps its own logs in its folder."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("trainer", "trainer.metrics", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _law_search(config: Path, resume: bool, kind: str, retry_failed: bool = False):
    """Load a search file of `kind` (one-line errors), then run it with the search's log lines."""
    from trainer.search.registry import load_search_as, run_search

    search = load_search_as(config, kind)
    _search_logging()
    summary = run_search(search, resume, retry_failed)
    _failure_note(summary, kind, search.out_dir)
    return search, summary


RESUME_HELP = "finish a killed search: only unfinished runs run (a half-done run resumes from its checkpoint)"
RETRY_HELP = "with --resume: run the failed runs again, each with a fresh count of max_attempts tries"


@search_app.command("scaling")
def search_scaling(config: Annotated[Path,
                                     typer.Option(help="scaling search file (YAML, trainer/search/scaling_search.py)")],
                   resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """Train a grid of model sizes x token budgets, fit L(N, D) with intervals, predict held-out runs."""
    search, summary = _law_search(config, resume, "scaling", retry_failed)
    law = summary["law"]
    typer.echo(f"L(N, D) = {law['E']:.4g} + {law['A']:.4g}/N^{law['alpha']:.4g} + {law['B']:.4g}/D^{law['beta']:.4g}")
    for entry in summary["compute_optimal"]:
        typer.echo(f"at {entry['compute']:.3g} FLOPs: N {entry['params']:.4g}, D {entry['tokens']:.4g}, "
                   f"{entry['tokens_per_param']:.1f} tokens per parameter")
    for held in summary["holdout"]:
        typer.echo(f"held out {held['point']}: observed {held['observed']:.4f}, predicted {held['predicted']:.4f} "
                   f"({held['relative_error']:+.2%})")
    typer.echo(f"report: dataflow inspect {search.out_dir}")


@search_app.command("variants")
def search_variants(config: Annotated[Path, typer.Option(help="variant search file (YAML, "
                                                             "trainer/search/variant_search.py)")],
                    resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                    retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """One WSD base run, then decay-phase branches per data variant and a control; gains with seed noise."""
    search, summary = _law_search(config, resume, "variants", retry_failed)
    for row in summary["derived"]:
        typer.echo(f"derived {row['variant']}/{row['source']}: {row['rows']:,} rows, {row['tokens']:,} tokens")
    for entry in summary["variants"]:
        typer.echo(f"{entry['variant']}: {entry['verdict'] or 'control'}")
    typer.echo(f"compute shared with the base: {summary['shared_compute']:.1%}; report: dataflow inspect "
               f"{search.out_dir}")


@search_app.command("hparams")
def search_hparams(config: Annotated[Path,
                                     typer.Option(help="hyper-parameter search file (YAML, "
                                                  "trainer/search/hparam_search.py)")],
                   resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """Learning-rate sweeps at several sizes (grid, or Optuna with pruning); the optimum as a power law of size."""
    search, summary = _law_search(config, resume, "hparams", retry_failed)
    for size, entry in summary["sizes"].items():
        typer.echo(f"{size} ({entry['params']:,} params): best lr {entry['optimum_lr']:.3g} at batch size "
                   f"{entry['batch_size']}" + (" (at the sweep's edge: widen it)" if entry["at_edge"] else ""))
    if "law" in summary:
        typer.echo(f"lr_opt = {summary['law']['coefficient']:.4g} * N^-{summary['law']['exponent']:.4g}")
    if "prediction" in summary:
        typer.echo(f"{summary['prediction']['preset']}: lr {summary['prediction']['lr']:.3g}")
    typer.echo(f"report: dataflow inspect {search.out_dir}")


@search_app.command("plan")
def search_plan(compute: Annotated[float, typer.Option(help="training compute in FLOPs (C = 6ND), e.g. 1e19")],
                scaling: Annotated[Path, typer.Option(help="out_dir of a finished `dataflow search scaling`")],
                hparams: Annotated[Optional[Path], typer.Option(help="out_dir of a finished `dataflow search hparams` "
                                                                     "(for the learning rate)")] = None,
                mixture: Annotated[Optional[Path], typer.Option(help="mixture file of the planned run [default: the "
                                                                     "scaling search's]")] = None) -> None:
    """Parameters, tokens, preset and learning rate for a budget; repeated tokens valued by Muennighoff et al."""
    from dataflow.inspect.render import render_table
    from dataflow.inspect.report import Table
    from trainer.search.searches.compute_plan import plan_compute

    plan = plan_compute(compute, scaling, hparams, str(mixture) if mixture else None)
    sources = list(plan["unique_tokens"])
    rows = [[label, f"{p['params']:.4g}", f"{p['tokens']:.4g}", round(p["tokens_per_param"], 2),
             f"{p['effective_tokens']:.4g}", round(p["predicted_target"], 4), f"{p['preset']} ({p['preset_params']:,})",
             f"{p['lr']:.3g}" if p["lr"] else "-", *[round(p["epochs"][name], 2) for name in sources]]
            for label, p in plan["plans"].items()]
    typer.echo(f"compute {compute:.3g} FLOPs, mixture {plan['mixture']} ("
               + ", ".join(f"{name} {plan['unique_tokens'][name]:,} tokens" for name in sources) + ")")
    typer.echo("\n".join(render_table(Table(
        ["plan", "params N", "tokens D", "D/N", "effective D", "predicted target", "nearest preset", "lr",
         *[f"epochs {name}" for name in sources]], rows,
        note="predicted targets value repeated tokens as Muennighoff et al. 2023 (R* = 15.4) in both rows"))))


@search_app.command("status")
def search_status(path: Annotated[Path, typer.Argument(help="search folder (its out_dir)")]) -> None:
    """Every run of a search: queued / running / done / failed, attempts, target, failure reason."""
    from dataflow.inspect.render import render_table
    from dataflow.inspect.report import Table
    from trainer.search.engine.store import RunStore, live_status
    from trainer.search.registry import load_any_search

    store = RunStore(path)
    if not (path / "search.yaml").is_file():
        raise UserError(f"{path} is not a search folder (no search.yaml); give the out_dir of a search")
    rows = [{**row, "status": live_status(path / "runs" / row["run"])}
            for row in store.rows(load_any_search(path / "search.yaml").target_weights)]
    for folder, reason in store.unreadable().items():
        typer.echo(f"unreadable run folder {folder} (left out): {reason}")
    counts = Counter(row["status"] for row in rows)
    typer.echo(f"{path}: {len(rows)} runs; " + ", ".join(f"{counts[s]} {s}" for s in ("done", "running", "queued",
                                                                                        "interrupted", "failed")))
    columns = ["run", "status", "attempts", "target", "wall_seconds", "failure"]
    typer.echo("\n".join(render_table(Table(columns, [[row[c] for c in columns] for row in rows]))))


@search_app.command("fit")
def search_fit(results: Annotated[Path, typer.Option(help="table of mixtures and scores (CSV, TSV or Parquet)")],
               target: Annotated[str, typer.Option(help="the score column (lower is better)")],
               weights_prefix: Annotated[Optional[str], typer.Option(help="weight columns start with this "
                                                                          "[default: w_]")] = None,
               weights: Annotated[Optional[str], typer.Option(help="weight columns, comma-separated")] = None,
               predict: Annotated[Optional[Path], typer.Option(help="rank this table's mixtures with the fit")] = None,
               optimize: Annotated[Optional[Path], typer.Option(help="write the predicted best mixture (YAML) "
                                                                     "here; needs --config")] = None,
               config: Annotated[Optional[Path], typer.Option(help="search file whose sources, max_epochs and "
                                                                   "final budget constrain --optimize")] = None,
               ) -> None:
    """Fit the search's regression on any results table; rank other mixtures; optimise under constraints.

    Rows whose weights sum to 1 within 1% (rounded published shares) are renormalised, with one line
    saying how many; rows further off are refused. Fits, each cross-validated (leave-one-out up to
    100 rows, 5-fold beyond) and printed with MAE and Spearman:

    lightgbm: RegMix's boosted trees; wins with hundreds of rows, flat outside the sampled region.
    linear: ridge on log-weights; a cheap baseline, rarely best.
    mixing-law: Ye et al.'s L = c + exp(sum t_j r_j), robust fit, one per target dataset; wins on
    tens of rows and when the optimum lies beyond the rows (it extrapolates).
    ensemble: the three rank-averaged, weighted by their Spearman; best on large tables.

    The chosen fit has the highest Spearman; the mixing law is chosen when within one standard error
    of it. More, and how to read the figures: docs/search/mixture.md.
    """
    from trainer.search.searches.table_fit import describe_fit, fit_table, rank_other, read_table

    if optimize is not None and config is None:
        raise UserError("--optimize needs --config SEARCH.yaml: its sources, max_epochs and final_run budget "
                        "are the constraints")
    columns = weights.split(",") if weights else None
    table = read_table(results, target, weights_prefix, columns)
    if table.renormalised_line():
        typer.echo(f"{results}: {table.renormalised_line()}")
    fit = fit_table(table)
    typer.echo("\n".join(describe_fit(fit, len(table.scores))))
    if predict is not None:
        other = read_table(predict, target, weights_prefix, columns, need_target=False)
        if other.renormalised_line():
            typer.echo(f"{predict}: {other.renormalised_line()}")
        typer.echo("\n".join(rank_other(fit, other, table.names)))
    if optimize is not None:
        from trainer.search.searches.table_fit import optimise_to_file

        pick = optimise_to_file(fit, table.names, config, optimize)
        typer.echo(f"wrote {optimize}: " + ", ".join(f"{name} {share:.4f}" for name, share in pick.items()))


def _head(text: str | None, lines: int) -> str:
    return "\n".join([line for line in (text or "").splitlines() if line.strip()][:lines])


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into one line on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, prog_name="dataflow", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except Exception as err:
        if debug:
            raise
        typer.echo(f"error: {_one_line(err)}", err=True)
        if not isinstance(err, UserError):
            typer.echo("(run with --debug for the traceback)", err=True)
        return 2
    return 0


def _one_line(err: Exception) -> str:
    import click

    if isinstance(err, click.ClickException):
        return err.format_message()
    worker_error = worker_error_line(str(err))
    if worker_error:
        return f"a Spark task failed: {worker_error}"
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return message if isinstance(err, UserError) else f"{type(err).__name__}: {message}"
