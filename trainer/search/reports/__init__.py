"""What the searches write and show: summary.json, plots, and `dataflow inspect SEARCH_FOLDER`."""
