"""The baseline cache: a result is read back only under exactly what it was computed from.

That a hit gives the numbers a miss gives, on real data, is checked in tests/test_scorer.py
(the zero-displacement submission scored twice)."""

from __future__ import annotations

import math

from gnnbench.score.baseline_cache import CACHE_ENV, BaselineCache, cache_directory, code_digest

WHAT = {"stride_accuracy": "test", "strides_fs": [1, 10], "baselines": ["verlet_eam_k1"], "n_anchors": 3}
VALUE = {"nve|10|verlet_eam_k1|mse": [1.5e-5, float("nan"), 2.0]}


def test_a_value_is_read_back_exactly_nan_included(tmp_path):
    cache = BaselineCache("a" * 64, "mini", tmp_path)
    assert cache.get(WHAT) is None and cache.misses == 1
    cache.put(WHAT, VALUE)
    again = BaselineCache("a" * 64, "mini", tmp_path).get(WHAT)
    assert again["nve|10|verlet_eam_k1|mse"][0] == 1.5e-5 and math.isnan(again["nve|10|verlet_eam_k1|mse"][1])
    assert list(tmp_path.iterdir()) == [cache.path(WHAT)]  # one file, no temporary left


def test_other_data_config_or_computation_is_a_miss(tmp_path):
    BaselineCache("a" * 64, "mini", tmp_path).put(WHAT, VALUE)
    assert BaselineCache("b" * 64, "mini", tmp_path).get(WHAT) is None
    assert BaselineCache("a" * 64, "small", tmp_path).get(WHAT) is None
    assert BaselineCache("a" * 64, "mini", tmp_path).get({**WHAT, "strides_fs": [1, 10, 20]}) is None
    changed_code = BaselineCache("a" * 64, "mini", tmp_path)
    changed_code.identity["code"] = "0" * 64  # as after an edit of gnnbench/score
    assert changed_code.get(WHAT) is None


def test_a_damaged_file_is_a_miss_and_an_unwritable_directory_only_costs_time(tmp_path):
    cache = BaselineCache("a" * 64, "mini", tmp_path)
    cache.put(WHAT, VALUE)
    cache.path(WHAT).write_text('{"value": [1, 2')  # cut short
    assert cache.get(WHAT) is None
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    BaselineCache("a" * 64, "mini", blocked / "cache").put(WHAT, VALUE)  # no error
    assert BaselineCache("a" * 64, "mini", blocked / "cache").get(WHAT) is None


def test_the_directory_comes_from_the_environment_and_off_turns_it_off(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_directory() is None and BaselineCache("a" * 64, "mini", None).get(WHAT) is None
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_directory() == tmp_path
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_directory() == tmp_path / "xdg" / "gnnbench" / "baselines"


def test_the_code_digest_covers_the_scorer_source():
    assert len(code_digest()) == 64
    assert code_digest() == code_digest.__wrapped__()  # stable


def test_an_edited_number_or_a_file_moved_to_another_key_is_a_miss(tmp_path):
    """The content check: a file must carry its value's sha256 and repeat what it was computed from."""
    import json
    import shutil

    cache = BaselineCache("a" * 64, "mini", tmp_path)
    cache.put(WHAT, VALUE)
    path = cache.path(WHAT)
    stored = json.loads(path.read_text())
    stored["value"]["nve|10|verlet_eam_k1|mse"][0] = 1.5e-7  # Verlet made 100× better by hand
    path.write_text(json.dumps(stored))
    assert cache.get(WHAT) is None
    cache.put(WHAT, VALUE)
    other = {**WHAT, "strides_fs": [1, 10, 20]}
    shutil.copy(path, cache.path(other))  # a result filed under a computation it is not
    assert cache.get(other) is None and cache.get(WHAT) is not None
