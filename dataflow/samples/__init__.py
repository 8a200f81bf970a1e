"""Sample WARC files generated from the project's own text: the pipeline's offline default input.

`write_sample_warcs(out_dir)` writes Common Crawl-style WARC files whose pages cover what
every stage must handle (articles in seven languages and legacy encodings, boilerplate,
duplicates, spam, degenerate text, benchmark leaks, non-HTML and non-200 responses), and a
`manifest.jsonl` that says which page is which.
"""

from dataflow.samples.benchmark import benchmark_path
from dataflow.samples.generate import MANIFEST_NAME, SampleSummary, write_sample_warcs

__all__ = ["MANIFEST_NAME", "SampleSummary", "benchmark_path", "write_sample_warcs"]
