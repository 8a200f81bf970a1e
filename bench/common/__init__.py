"""What the benches and the tests share, in one home each: the reader of ../shared/data's real pages and
documents folders (`real_pages`), small WARC and WET files (`warc_builder`), benchmark passages planted
into pages (`planting`), near-duplicate edits (`text_edits`) and the union-find reference (`union_find`).

They live here, not in tests/, because nothing outside tests/ imports tests (the import contract in
pyproject.toml); tests import them from here. bench/ is not installed, and neither are they."""
