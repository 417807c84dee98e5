import subprocess
import sys

import tensorflow as tf

import helpers
from helpers import compat


def test_tf_keras_is_legacy_keras():
    assert tf.keras.__name__.startswith("tf_keras"), tf.keras.__name__
    assert compat.keras_is_legacy()
    import tf_keras

    assert tf_keras.__version__.startswith("2.")


def test_estimator_placeholder_lets_nsl_import():
    assert tf.estimator.ModeKeys.TRAIN == "train"
    assert tf.estimator.ModeKeys.PREDICT == "infer"
    import neural_structured_learning as nsl

    config = nsl.configs.make_adv_reg_config(multiplier=0.2, adv_step_size=0.2, adv_grad_norm="infinity")
    assert config.multiplier == 0.2


def test_device_report_is_one_line_with_versions():
    line = compat.device_report()
    assert "\n" not in line
    assert tf.__version__ in line and "NSL 1.4.0" in line
    assert ("GPU" in line) if compat.gpu_devices() else ("CPU" in line)


def test_setup_reports_mode_and_data_source(capsys):
    line = helpers.setup()
    assert "mode: quick" in line and "sample" in line
    assert capsys.readouterr().out.strip() == line


def test_importing_tensorflow_first_gives_a_clear_error():
    code = "import os; os.environ.pop('TF_USE_LEGACY_KERAS', None)\nimport tensorflow\nimport helpers"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in __import__("os").environ.items() if k != "TF_USE_LEGACY_KERAS"})
    assert result.returncode != 0
    assert "import helpers" in result.stderr and "before" in result.stderr


def test_only_the_retracing_note_is_filtered_from_tensorflow_warnings():
    import logging

    from helpers import compat  # noqa: F401

    logger = tf.get_logger()
    note = logging.LogRecord("tensorflow", logging.WARNING, __file__, 1,
                             "5 out of the last 7 calls to <function f> triggered tf.function retracing.", None, None)
    other = logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, "something else", None, None)
    assert not logger.filter(note) and logger.filter(other)


def test_the_setup_cell_prints_one_line_and_nothing_alarming():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ADVLAB_TF_LOGS")}
    code = "import helpers, numpy as np; helpers.setup(); print(repr(np.float64(0.25)), repr(np.int64(7)))"
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                           env=dict(env, ADVLAB_QUICK="1"))
    assert quiet.returncode == 0, quiet.stderr
    lines = quiet.stdout.strip().splitlines()
    assert len(lines) == 2 and "mode: quick" in lines[0]
    assert lines[1] == "0.25 7"                                   # plain numbers, not np.float64(0.25)
    assert quiet.stderr.strip() == "", quiet.stderr               # no oneDNN, CUDA or absl lines
    loud = subprocess.run([sys.executable, "-c", "import helpers"], capture_output=True, text=True, timeout=300,
                          env=dict(env, ADVLAB_TF_LOGS="1"))
    assert "oneDNN" in loud.stderr or "cuda" in loud.stderr.lower()  # the switch shows what was hidden


def test_tensorflows_performance_notes_students_cannot_act_on_are_dropped_and_other_warnings_kept():
    import logging

    import tensorflow as tf

    from helpers import compat

    def record(message):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    quiet = compat._RetracingNoteFilter()
    assert not quiet.filter(record("5 out of the last 5 calls to <function f> triggered tf.function retracing."))
    assert not quiet.filter(record("Callback method `on_train_batch_end` is slow compared to the batch time "
                                   "(batch time: 0.0082s vs `on_train_batch_end` time: 0.0177s)."))
    assert quiet.filter(record("Gradients do not exist for variables ['dense/kernel:0'] when minimizing the loss."))
    assert any(isinstance(f, compat._RetracingNoteFilter) for f in tf.get_logger().filters)
