"""The stage folders of a run folder, found by their stats.json (dataflow/inspect/funnel.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dataflow.inspect.funnel import pipeline_order
from dataflow.report import html
from dataflow.stages import DOCUMENT_STAGES


@dataclass
class RunStages:
    root: Path
    order: list[tuple[Path, dict]]

    @classmethod
    def of(cls, root: Path) -> RunStages:
        return cls(root, pipeline_order(root))

    def all(self, stage: str) -> list[tuple[Path, dict]]:
        return [(folder, stats) for folder, stats in self.order if stats.get("stage") == stage]

    def first(self, stage: str) -> tuple[Path, dict] | None:
        found = self.all(stage)
        return found[0] if found else None

    def final_documents(self) -> tuple[Path, dict] | None:
        """The last document stage of the run (clean/ in a full pipeline)."""
        return next((found for stage in reversed(DOCUMENT_STAGES) if (found := self.first(stage))), None)


def stage_section(run: RunStages, stage: str, section_id: str, title: str) -> tuple[html.Section, tuple | None]:
    """A new section about `stage` and the stage's first (folder, stats); a run without the stage
    gets a section that says so, and None."""
    section, found = html.Section(section_id, title), run.first(stage)
    if found is None:
        section.add(html.text(f"no {stage} stage in this run", "empty"))
    return section, found
