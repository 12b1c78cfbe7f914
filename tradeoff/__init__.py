"""The library of the study: what the five numbered scripts call (README's "Where things live" says which module
holds what). No module here reads `common`; each receives its settings as arguments."""


class PipelineError(Exception):
    """A problem the user can fix: printed as one line, exit code 2, nothing written."""
