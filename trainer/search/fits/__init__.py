"""The fits and laws the searches use: pure maths on scored runs, no run store, no training."""
