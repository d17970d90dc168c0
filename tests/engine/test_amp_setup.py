"""amp_setup: which autocast dtype and loss scaler each device and setting gets."""

import pytest
import torch

import detector.engine.training.setup as setup_mod
from detector.engine.training.setup import amp_setup

CPU = torch.device("cpu")


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_cpu_with_bf16_hardware_trains_in_bf16_without_a_scaler(monkeypatch, detector_log, dtype) -> None:
    monkeypatch.setattr(setup_mod, "cpu_has_native_bf16", lambda: True)
    autocast, scaler = amp_setup(True, dtype, CPU)
    assert autocast is torch.bfloat16 and not scaler.is_enabled()
    said = {(r.levelname, r.getMessage()) for r in detector_log.records if "train.amp_dtype=fp16" in r.getMessage()}
    assert [level for level, _ in said] == (["WARNING"] if dtype == "fp16" else [])


def test_cpu_without_bf16_hardware_trains_in_fp32_and_says_so(monkeypatch, detector_log) -> None:
    monkeypatch.setattr(setup_mod, "cpu_has_native_bf16", lambda: False)
    autocast, scaler = amp_setup(True, "bf16", CPU)
    assert autocast is None and not scaler.is_enabled()
    ((level, message),) = {(r.levelname, r.getMessage()) for r in detector_log.records if "no bf16" in r.getMessage()}
    assert level == "INFO" and "float32" in message  # amp: true (the default) means "where the hardware has it"


def test_amp_off_is_fp32_everywhere_and_bad_dtype_names_the_key(monkeypatch) -> None:
    monkeypatch.setattr(setup_mod, "cpu_has_native_bf16", lambda: True)
    assert amp_setup(False, "bf16", CPU)[0] is None
    with pytest.raises(ValueError, match="train.amp_dtype: unknown dtype 'fp8'"):
        amp_setup(True, "fp8", CPU)
    with pytest.raises(ValueError, match="train.amp_dtype"):
        amp_setup(False, "fp8", CPU)
