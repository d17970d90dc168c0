"""Usage telemetry of OpenVINO and NNCF switched off, in this process, before either is imported.

Both send usage events to Google Analytics by default (``openvino_telemetry``: on import of the model converter,
on every NNCF quantization), unless the user opted out once with ``opt_in_out --opt_out`` (a file under the home
folder). Our tools never make a network call, so :func:`telemetry_off` does the opt-out in code without writing
that file: NNCF's documented switch (the ``NNCF_CI`` environment variable turns its telemetry object into a stub)
and OpenVINO's consent check answering "declined", so that ``openvino_telemetry.Telemetry`` sends nothing.
"""

from __future__ import annotations

import os

_done = False


def telemetry_off() -> None:
    """Switch OpenVINO's and NNCF's usage telemetry off for this process (idempotent). Call it before importing
    ``openvino`` or ``nncf``; :mod:`detector.runtime`'s importers do."""
    global _done
    if _done:
        return
    os.environ.setdefault("NNCF_CI", "1")  # nncf/telemetry/wrapper.py: a stub telemetry object, nothing is sent
    try:
        from openvino_telemetry import main as tm_main
        from openvino_telemetry.utils import opt_in_checker
    except ImportError:  # openvino without its telemetry package: nothing to switch off
        _done = True
        return

    def declined(self: object, enable_opt_in_dialog: bool, disable_in_ci: bool = False) -> object:
        return opt_in_checker.ConsentCheckResult.DECLINED

    opt_in_checker.OptInChecker.check = declined
    instance = getattr(tm_main.Telemetry, "_SingletonMetaClass__single_instance", None)
    if instance is not None:  # created before this call: withdraw its consent
        instance.consent = False
    _done = True


def telemetry_is_off() -> bool:
    """True when :func:`telemetry_off` ran and OpenVINO's telemetry object (if any) has no consent."""
    if not _done:
        return False
    try:
        from openvino_telemetry import main as tm_main
    except ImportError:
        return True
    instance = getattr(tm_main.Telemetry, "_SingletonMetaClass__single_instance", None)
    return instance is None or not instance.consent
