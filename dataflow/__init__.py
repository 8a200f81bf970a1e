"""dataflow: web crawls to pretraining tokens, and the search for the data mixture.

`import dataflow` stays light: it never imports pyspark or torch. Spark jobs live in
`jobs/`, the trainer in `trainer/`; both stand on the engine-free code here.
"""

__version__ = "0.1.0"
