import pytest

from helpers import config


def test_hparams_match_the_seed_tutorial():
    hp = config.HParams()
    assert hp.input_shape == (28, 28, 1) and hp.num_classes == 10
    assert hp.conv_filters == (32, 64, 64) and hp.kernel_size == (3, 3) and hp.pool_size == (2, 2)
    assert hp.num_fc_units == (64,) and hp.batch_size == 32 and hp.epochs == 5
    assert (hp.adv_multiplier, hp.adv_step_size, hp.adv_grad_norm) == (0.2, 0.2, "infinity")


def test_quick_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("ADVLAB_QUICK", "1")
    assert config.quick_mode() and config.mode() == "quick"
    assert config.hparams().epochs < config.HParams().epochs
    monkeypatch.setenv("ADVLAB_QUICK", "0")
    assert not config.quick_mode() and config.hparams() == config.HParams()
    monkeypatch.setenv("ADVLAB_QUICK", "maybe")
    with pytest.raises(ValueError, match="ADVLAB_QUICK"):
        config.quick_mode()


@pytest.mark.parametrize("change", [{"batch_size": 0}, {"epochs": 0}, {"adv_grad_norm": "l3"},
                                    {"adv_step_size": -0.1}])
def test_bad_hparams_are_refused(change):
    with pytest.raises(ValueError):
        config.HParams(**change)


def test_artifacts_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ADVLAB_ARTIFACTS", str(tmp_path / "elsewhere"))
    assert config.artifacts_dir() == tmp_path / "elsewhere" and (tmp_path / "elsewhere").is_dir()
