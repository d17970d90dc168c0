"""The TIDE-style error breakdown of a detection result (the paper's rules and tidecv 1.0.1's), used by
the evaluation job and the study (docs/ERRORS.md)."""
