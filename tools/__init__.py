"""Tools beside the pipeline: the offline demo models and measurements."""
