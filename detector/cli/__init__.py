"""The command-line tools: one module per tool with ``parse_args`` and ``main(argv) -> exit status``.

Each runs as ``python tools/<tool>.py`` (a three-line shim), as the installed command ``cspx-<tool>``
(``[project.scripts]`` in pyproject.toml) or as ``python -m detector.cli.<tool>``; all three are the same ``main``.
Exit statuses follow :mod:`detector.cli.exit_codes`. Nothing here is imported by the rest of ``detector``.
"""
