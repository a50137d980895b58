"""benchmarks/run.py: RESULTS.md assembled from the section files (no benchmark run)."""

from benchmarks import run


def test_assemble_puts_standalone_reports_after_the_registry_one_level_down(tmp_path):
    (tmp_path / "memory.md").write_text("## Memory\n\ntable\n")
    (tmp_path / "latency.md").write_text(
        "# Serving latency\n\n## Per batch\n\n```\n# a shell comment\n```\n"
    )
    (tmp_path / "unknown.md").write_text("## Not listed\n")
    text = run.assemble(tmp_path, tmp_path / "RESULTS.md")
    assert text == (tmp_path / "RESULTS.md").read_text()
    assert text.index("## Memory") < text.index("## Serving latency")
    assert "\n### Per batch\n" in text
    assert "\n# a shell comment\n" in text  # code is not a heading
    assert "Not listed" not in text
