"""The README's run command builds the bundled catalog only when there is none."""
import shutil

from scripts import start


def test_start_builds_the_sample_catalog_only_when_none_exists(small_catalog, tmp_path, monkeypatch,
                                                              catalog_dir_env):
    built = []
    monkeypatch.setattr(start, "run", lambda config: built.append(config) or (tmp_path, {}))
    monkeypatch.setattr(start, "summary_lines", lambda path, manifest: [])
    catalog_dir_env(tmp_path)
    (tmp_path / "half-built").mkdir()  # an incomplete folder is not a catalog
    start.ensure_sample_catalog()
    assert len(built) == 1
    assert built[0].dataset == "sample" and built[0].model == "efficientnet_lite0"
    assert built[0].target().parent == tmp_path
    shutil.copytree(small_catalog[0], tmp_path / "existing")
    start.ensure_sample_catalog()
    assert len(built) == 1
