"""The searches: what each one plans, runs on the engine, fits and writes."""
