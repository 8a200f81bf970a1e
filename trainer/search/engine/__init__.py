"""The engine every search runs on: the run store, the worker, the locks and the backends."""
