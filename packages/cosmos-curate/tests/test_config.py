import dataclasses

import pytest

from cosmos.curate.config import PRESETS, CurateConfig, SplitConfig, curate_config_from_dict, get_preset


def test_presets_hold_the_published_numbers():
    code, paper = get_preset("cosmos-curate"), get_preset("cosmos-paper")
    assert code.split.threshold == 0.4 and code.split.min_length_s == 2.0 and code.split.max_length_s == 60.0
    assert code.split.crop_s == 0.5 and code.dedup.eps == 0.01 and code.dedup.keep == "hard"
    assert code.motion.global_mean_threshold == 0.00098 and code.motion.per_patch_min_256_threshold == 1e-6
    assert paper.split.min_length_s == 2.0 and paper.split.max_length_s == 60.0
    assert paper.quality.aesthetic_threshold == 3.5
    assert paper.dedup.n_clusters == 10_000 and paper.dedup.keep == "highest_resolution"
    assert set(PRESETS) == {"cosmos-curate", "cosmos-paper"}


def test_configs_are_frozen_and_round_trip():
    config = get_preset("cosmos-paper")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.split.threshold = 0.5  # type: ignore[misc]
    assert curate_config_from_dict(config.to_dict()) == config
    changed = config.replace(**{"split.algorithm": "fixed-stride", "motion.enabled": True})
    assert (
        changed.split.algorithm == "fixed-stride"
        and changed.motion.enabled
        and config.split.algorithm == "transnetv2"
    )


def test_frame_lengths_follow_the_reference_formulas():
    split = SplitConfig()
    assert split.min_length(30.0) == 60 and split.min_length(16.0) == 48  # max(ceil(2 fps), 48)
    assert split.max_length(29.97) == 1799 and split.crop_length(29.97) == 14


@pytest.mark.parametrize("kwargs", [{"algorithm": "magic"}, {"max_length_mode": "cut"}, {"threshold": 1.5}])
def test_bad_split_configs_raise(kwargs):
    with pytest.raises(ValueError):
        SplitConfig(**kwargs)


def test_unknown_preset_and_field_raise():
    with pytest.raises(KeyError, match="cosmos-paper"):
        get_preset("nope")
    with pytest.raises(TypeError):
        curate_config_from_dict({"nope": 1})
    with pytest.raises(ValueError, match="eps"):
        CurateConfig().replace(**{"dedup.eps": 0.0})
