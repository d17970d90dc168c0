"""Config loading: defaults file, base chains, overrides with type conversion, clear errors."""

import dataclasses
import warnings
from pathlib import Path

import pytest

from detector.config import Config, ConfigError, config_from_dict, config_to_dict, load_config, save_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_file_documents_every_default():
    assert load_config(CONFIGS / "defaults.yaml") == Config()


DETECTOR_CONFIGS = sorted(p for p in CONFIGS.glob("*.yaml") if not p.name.startswith("study_"))  # studies: tests/study


@pytest.mark.parametrize("path", DETECTOR_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no old-layout or override warning from a shipped file
        cfg = load_config(path)
    assert cfg.data.img_size % 32 == 0


def test_backbone_swap_is_one_line():
    base = load_config(CONFIGS / "yolo_cspx50.yaml")
    swapped = load_config(CONFIGS / "yolo_cspdarknet53.yaml")
    assert swapped.model.backbone.name == "cspdarknet53"
    swapped.model.backbone.name = base.model.backbone.name
    assert swapped == base
    cli = load_config(CONFIGS / "yolo_cspx50.yaml", ["model.backbone.name=resnet50"])
    assert cli.model.backbone.name == "resnet50"


def test_overrides_convert_types():
    cfg = load_config(
        None,
        [
            "train.epochs=7",
            "train.lr=1e-3",
            "model.backbone.pretrained=false",
            "model.backbone.out_indices=[3, 4]",
            "model.num_classes=3",
            "data.shapes.root=somewhere",
            "train.weights=null",
        ],
    )
    assert cfg.train.epochs == 7 and cfg.train.lr == pytest.approx(1e-3)
    assert cfg.model.backbone.pretrained is False
    assert cfg.model.backbone.out_indices == [3, 4]
    assert cfg.model.num_classes == 3
    assert cfg.data.shapes is not None and cfg.data.shapes.root == "somewhere"
    assert cfg.data.shapes.num_train == 800  # other shapes keys keep their defaults
    assert cfg.train.weights is None


def test_int_accepted_for_float_but_not_the_reverse():
    assert load_config(None, ["train.lr=1"]).train.lr == 1.0
    with pytest.raises(ConfigError, match=r"'train.epochs' expects int, got 2.5"):
        load_config(None, ["train.epochs=2.5"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.backbone.nmae=x", r"unknown key 'model.backbone.nmae'; did you mean 'model.backbone.name'"),
        ("trian.epochs=3", r"unknown key 'trian'; did you mean 'train'"),
        ("train.epochs=many", r"'train.epochs' expects int, got 'many'"),
        ("train.optimizer=adam", r"'train.optimizer' must be one of \['sgd', 'adamw'\]"),
        ("train.epochs", r"must look like key.sub=value"),
        ("train.epochs.x=1", r"'train.epochs' is not a section"),
        ("data.img_size=100", r"multiple of 32"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epocs: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'train.epocs'; did you mean 'train.epochs'"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(tmp_path / "list.yaml")


def test_base_chain_and_round_trip(tmp_path):
    (tmp_path / "parent.yaml").write_text("train:\n  epochs: 11\n  lr: 0.5\n")
    (tmp_path / "child.yaml").write_text("base: parent.yaml\ntrain:\n  lr: 0.25\n")
    cfg = load_config(tmp_path / "child.yaml")
    assert (cfg.train.epochs, cfg.train.lr) == (11, 0.25)
    save_config(cfg, tmp_path / "resolved.yaml")
    again = load_config(tmp_path / "resolved.yaml")
    assert again == cfg
    assert config_to_dict(again)["train"]["epochs"] == 11


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.shapes={roots: x}", r"unknown key 'data.shapes.roots'; did you mean 'data.shapes.root'"),
        ("data.shapes.nmu_train=3", r"unknown key 'data.shapes.nmu_train'; did you mean 'data.shapes.num_train'"),
        ("data.shapes=[1, 2]", r"'data.shapes' is a section .*, not a value; got \[1, 2\].* or null \(off\)"),
    ],
)
def test_did_you_mean_inside_optional_sections(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / "shapes_tiny.yaml", [override])


def test_did_you_mean_inside_optional_section_of_a_file(tmp_path):
    (tmp_path / "c.yaml").write_text("data:\n  shapes: {root: x, num_trian: 3}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: unknown key 'data.shapes.num_trian'; did you mean"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.batch_size=0", r"key 'train.batch_size' must be >= 1, got 0"),
        ("train.epochs=-3", r"key 'train.epochs' must be >= 1, got -3"),
        ("train.lr=0", r"key 'train.lr' must be > 0, got 0.0"),
        ("train.workers=-1", r"key 'train.workers' must be >= 0"),
        ("train.ema_decay=1.5", r"key 'train.ema_decay' must be in \[0, 1\]"),
        ("data.augment.mosaic=2", r"key 'data.augment.mosaic' must be in \[0, 1\], got 2.0"),
        ("eval.iou=-0.1", r"key 'eval.iou' must be in \[0, 1\]"),
        ("eval.conf=1.5", r"key 'eval.conf' must be in \[0, 1\]"),
        ("predict.conf=1.5", r"key 'predict.conf' must be in \[0, 1\]"),
        ("predict.img_size=100", r"key 'predict.img_size' must be .*multiple of 32"),
        ("predict.letterbox=wide", r"key 'predict.letterbox' must be one of \['rect', 'square'\]"),
        ("model.head.prior_prob=1", r"key 'model.head.prior_prob' must be in \(0, 1\)"),
        ("model.neck.widths=[32, 0, 96]", r"key 'model.neck.widths\[1\]' must be >= 1, got 0"),
        (
            "model.head.type=yolov4 & model.head.anchors=[[1, 2], [3, -1]]",
            r"key 'model.head.anchors\[1\]\[1\]' must be > 0",
        ),
        ("data.img_size=0", r"key 'data.img_size' must be >= 32 and a multiple of 32, got 0"),
    ],
)
def test_numbers_outside_their_range_name_the_key_and_range(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, override.split(" & "))


def test_ranges_checked_in_files_and_edges_accepted(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  epochs: 0\n")
    with pytest.raises(ConfigError, match=r"c.yaml: key 'train.epochs' must be >= 1, got 0"):
        load_config(tmp_path / "c.yaml")
    edges = ["train.epochs=1", "train.workers=0", "data.augment.mosaic=1", "eval.conf=0", "data.img_size=32"]
    cfg = load_config(None, [*edges, "model.head.prior_prob=null", "train.warmup_bias_lr=null"])
    assert (cfg.train.epochs, cfg.train.workers, cfg.data.augment.mosaic, cfg.data.img_size) == (1, 0, 1.0, 32)


def test_a_newly_registered_neck_is_accepted_without_editing_a_table():
    from detector.config.plugins import neck_names
    from detector.model.neck import NECKS, register_neck, unregister_neck
    from detector.model.registry import build_neck

    with pytest.raises(ConfigError, match=r"key 'model.neck.type' must be one of \['spp_pan'\], got 'tiny_neck'"):
        load_config(None, ["model.neck.type=tiny_neck"])
    built = []

    @register_neck()
    def tiny_neck(cfg, channels, strides):  # the registered name is the function's
        built.append((cfg.type, channels))
        return cfg

    try:
        cfg = load_config(None, ["model.neck.type=tiny_neck"])
        assert cfg.model.neck.type == "tiny_neck"
        assert build_neck(cfg.model.neck, [8, 16], [8, 16]) is cfg.model.neck
        assert built == [("tiny_neck", [8, 16])]
        with pytest.raises(ValueError, match=r"^model.neck.type: unknown neck 'tiny_nek'\. Did you mean 'tiny_neck'\?"):
            build_neck(dataclasses.replace(cfg.model.neck, type="tiny_nek"), [8, 16], [8, 16])
    finally:
        unregister_neck("tiny_neck")
    assert NECKS.names() == ["spp_pan"] and neck_names() == ("spp_pan",)


def test_choices_and_ranges_are_read_from_the_declarations():
    from detector.config import key_range, option_at
    from detector.config.ranges import AT_LEAST_1
    from detector.config.schema import option_choices

    assert key_range("train.epochs") == AT_LEAST_1
    assert key_range("data.shapes.img_size").lo == 36  # inside the optional section
    assert option_choices(option_at("train.optimizer")) == ("sgd", "adamw")
    assert set(option_choices(option_at("model.head.type"))) == {"yolov4", "decoupled"}  # the registered families
    with pytest.raises(KeyError, match="'train.epocs' is not a config key"):
        option_at("train.epocs")
    with pytest.raises(KeyError, match="'train.device' declares no range"):
        key_range("train.device")


def test_renamed_eval_keys_still_load_with_one_warning_naming_the_new_keys() -> None:
    old = {"eval": {"conf_thres": 0.3, "iou_thres": 0.5, "max_det": 50}}  # a config / checkpoint of earlier versions
    with pytest.warns(UserWarning, match=r"old\.yaml: renamed config keys \(eval\.conf_thres -> eval\.conf, "
                      r"eval\.iou_thres -> eval\.iou\)") as caught:  # fmt: skip
        cfg = config_from_dict(old, "old.yaml")
    assert len(caught) == 1 and (cfg.eval.conf, cfg.eval.iou, cfg.eval.max_det) == (0.3, 0.5, 50)
    assert old == {"eval": {"conf_thres": 0.3, "iou_thres": 0.5, "max_det": 50}}  # the caller's dict is left alone
    with pytest.warns(UserWarning, match=r"eval\.iou_thres -> eval\.iou"):
        assert config_from_dict({}, "x", ["eval.iou_thres=0.55"]).eval.iou == 0.55
    with pytest.warns(UserWarning, match="renamed"):  # both names: the new one wins
        assert config_from_dict({"eval": {"conf_thres": 0.3, "conf": 0.2}}, "x").eval.conf == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names load silently
        assert config_from_dict({"eval": {"conf": 0.3}}, "x").eval.conf == 0.3
