"""benchmarks/_common.py: the results cache that ``--resume`` reads."""

from benchmarks import _common


def test_resume_reuses_a_result_only_under_the_same_code(tmp_path, monkeypatch):
    monkeypatch.setattr(_common, "CACHE_DIR", tmp_path)
    monkeypatch.setenv("SK_MTL_BENCH_RESUME", "1")
    first = _common.Records("bench", False, ("config",))
    first.add({"auc": 0.9}, seed=0, model="mtl")

    again = _common.Records("bench", False, ("config",))
    assert again.get(seed=0, model="mtl") == {"auc": 0.9}
    other_config = _common.Records("bench", False, ("other config",))
    assert other_config.get(seed=0, model="mtl") is None

    monkeypatch.setattr(_common, "code_fingerprint", lambda: "edited package")
    after_an_edit = _common.Records("bench", False, ("config",))
    assert after_an_edit.get(seed=0, model="mtl") is None


def test_the_code_fingerprint_is_stable_and_follows_the_source(tmp_path, monkeypatch):
    assert _common.code_fingerprint() == _common.code_fingerprint()
    package = tmp_path / "sk_mtl"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    monkeypatch.setattr("sk_mtl.__file__", str(package / "__init__.py"))
    before = _common.code_fingerprint()
    (package / "__init__.py").write_text("x = 2\n")
    assert _common.code_fingerprint() != before
