"""fastText models: language ID, quality classifier training, scoring and evaluation."""
