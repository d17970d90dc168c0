"""Loading weights: wrapped checkpoints, official-weights cache, and the errors for bad files / offline."""

import urllib.error
from pathlib import Path

import pytest
import torch

import backbones.pretrained as pretrained_mod
from backbones import PretrainedWeightsError, build_backbone

CSPX_FILE = "cspresnext50_ra_224-648b4713.pth"


@pytest.fixture(scope="module")
def cspx_state():
    torch.manual_seed(0)
    return build_backbone("cspresnext50", num_classes=1000).state_dict()


@pytest.fixture
def hub_home(tmp_path, monkeypatch):
    """Empty torch hub dir under tmp; downloads fail as if offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def offline(url, dst, hash_prefix):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(pretrained_mod, "_download", offline)
    return tmp_path / "torch" / "hub" / "checkpoints"


def _assert_loaded(model, state):
    sd = model.state_dict()
    assert all(torch.equal(sd[k], state[k]) for k in sd if not k.endswith("num_batches_tracked"))


@pytest.mark.slow  # saves and loads the full-size state dict
def test_wrapped_ddp_checkpoint_loads(tmp_path, cspx_state):
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in cspx_state.items()}}, path)
    model = build_backbone("cspresnext50", pretrained=path)
    _assert_loaded(model, cspx_state)
    assert "head.fc.weight" not in model.state_dict()  # classifier dropped in feature mode


def test_deeply_wrapped_non_dict_is_a_weights_error(tmp_path):
    path = tmp_path / "nested.pt"
    torch.save({"model": {"ema": {"state_dict": [1, 2]}}}, path)  # the innermost wrapper holds a list
    with pytest.raises(PretrainedWeightsError, match=r"nested\.pt: holds a list, not a state_dict"):
        pretrained_mod.load_state_dict_file(path)


def test_offline_true_names_url_and_cache_path(hub_home):
    with pytest.raises(PretrainedWeightsError) as e:
        build_backbone("cspresnext50", pretrained=True)
    msg = str(e.value)
    assert f"https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/{CSPX_FILE}" in msg
    assert str(hub_home / CSPX_FILE) in msg
    assert "huggingface.co/timm/cspresnext50.ra_in1k" in msg and "URLError" in msg
    assert "model.backbone.pretrained=PATH" in msg  # the config key that exists (not model.pretrained)


@pytest.mark.slow
def test_true_uses_cached_file_without_download(hub_home, cspx_state):
    hub_home.mkdir(parents=True)
    torch.save(cspx_state, hub_home / CSPX_FILE)
    _assert_loaded(build_backbone("cspresnext50", pretrained=True, num_classes=1000), cspx_state)


@pytest.mark.slow  # two full-size ResNet-50 builds
def test_torchvision_true_uses_shared_cache(hub_home):
    from torchvision.models import ResNet50_Weights, resnet50

    torch.manual_seed(0)
    state = {k: v for k, v in resnet50().state_dict().items() if not k.endswith("num_batches_tracked")}  # old format
    hub_home.mkdir(parents=True)
    torch.save(state, hub_home / Path(ResNet50_Weights.IMAGENET1K_V2.url).name)
    _assert_loaded(build_backbone("resnet50", pretrained=True), state)


@pytest.mark.slow  # full-size ResNet-50 and CSPResNeXt-50 builds
def test_wrong_architecture_lists_keys(tmp_path):
    from torchvision.models import resnet50

    path = tmp_path / "resnet50.pth"
    torch.save(resnet50().state_dict(), path)
    with pytest.raises(PretrainedWeightsError, match=r"does not fit backbone 'cspresnext50'") as e:
        build_backbone("cspresnext50", pretrained=path)
    msg = str(e.value)
    assert "missing" in msg and "stem.conv1.conv.weight" in msg
    assert "unexpected" in msg and "layer1.0.conv1.weight" in msg and str(path) in msg


def test_missing_extra_and_shape_mismatch_keys(tmp_path, cspx_state):
    state = dict(cspx_state)
    del state["stages.2.blocks.4.conv2.conv.weight"]
    state["stages.9.extra"] = torch.zeros(1)
    state["stem.conv1.bn.weight"] = torch.ones(32)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(PretrainedWeightsError) as e:
        build_backbone("cspresnext50", pretrained=path)
    msg = str(e.value)
    assert "1 of" in msg and "stages.2.blocks.4.conv2.conv.weight" in msg
    assert "stages.9.extra" in msg
    assert "stem.conv1.bn.weight: checkpoint (32,) vs model (64,)" in msg


@pytest.mark.slow  # writes the full-size weights twice
def test_truncated_file(tmp_path, cspx_state):
    for suffix in (".pth", ".safetensors"):
        full = tmp_path / f"full{suffix}"
        if suffix == ".pth":
            torch.save(cspx_state, full)
        else:
            from safetensors.torch import save_file

            save_file(cspx_state, str(full))
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        with pytest.raises(PretrainedWeightsError, match=r"truncated or corrupt"):
            build_backbone("cspresnext50", pretrained=cut)


def test_missing_file_and_bad_values(tmp_path):
    with pytest.raises(PretrainedWeightsError, match=r"not found: .*nope\.pth"):
        build_backbone("cspresnext50", pretrained=tmp_path / "nope.pth")
    with pytest.raises(PretrainedWeightsError, match="must be None, False, True or a file path"):
        build_backbone("cspresnext50", pretrained=3)
    with pytest.raises(ValueError, match="pretrained weights exist only for the full model"):
        build_backbone("cspresnext50", pretrained=True, width_mult=0.25)


@pytest.mark.slow  # two timm builds
def test_timm_bridge_loads_a_file(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    ref = timm.create_model("resnet18")
    path = tmp_path / "r18.pth"
    torch.save(ref.state_dict(), path)
    model = build_backbone("timm:resnet18", pretrained=path)
    assert torch.equal(model.net.conv1.weight, ref.conv1.weight)
    with pytest.raises(PretrainedWeightsError, match="not found"):
        build_backbone("timm:resnet18", pretrained=tmp_path / "missing.pth")
