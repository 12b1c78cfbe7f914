"""Spider fetched by 0_preparando_dados.py from the Hugging Face hub: the real hf_hub_download, offline, on a cache
folder laid out as the hub client writes it, holding a zip built from the demo's Spider files; and each way the
fetch can fail (no cache and no network, a zip without databases, a changed dev.json, no zip at all)."""

import hashlib
import io
import json
import os
import sqlite3
import zipfile

import pytest

import common
from conftest import PROJECT_DIR, run_script

DEMO_SPIDER = PROJECT_DIR / "data" / "demo" / "spider"


def release_zip(dev_size=common.SPIDER_HUB_DEV_SIZE, databases=True):
    """The official zip's layout (spider/dev.json, ..., spider/database/<db_id>/<db_id>.sqlite) from the demo's
    files; dev.json repeats the demo's questions up to dev_size, the release's size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("tables.json", "train_spider.json", "train_others.json"):
            archive.write(DEMO_SPIDER / name, f"spider/{name}")
        dev = json.loads((DEMO_SPIDER / "dev.json").read_text())
        archive.writestr("spider/dev.json", json.dumps([dev[i % len(dev)] for i in range(dev_size)]))
        for script in sorted((DEMO_SPIDER / "sql").glob("*.sql")) if databases else ():
            connection = sqlite3.connect(":memory:")
            connection.executescript(script.read_text())
            archive.writestr(f"spider/database/{script.stem}/{script.stem}.sqlite", connection.serialize())
            connection.close()
        archive.writestr("__MACOSX/spider/._dev.json", b"")  # the official zip was made on a Mac
    return buffer.getvalue()


def hub_cache(hf_home, data):
    """data as hf_hub_download leaves the pinned file: a blob named by its sha256, linked from the revision's
    snapshot."""
    folder = hf_home / "hub" / ("datasets--" + common.SPIDER_HUB_REPO.replace("/", "--"))
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    pointer = folder / "snapshots" / common.SPIDER_HUB_REVISION / common.SPIDER_HUB_FILE
    pointer.parent.mkdir(parents=True)
    pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    return hashlib.sha256(data).hexdigest()


def prepare(tmp_path, source="auto", spider_dir=None):
    env = {
        "SPIDER_SOURCE": source,
        "SPIDER_DIR": str(spider_dir or tmp_path / "spider"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "PREPARED_DIR": str(tmp_path / "prepared"),
        "OUTPUT_DIR": str(tmp_path / "outputs"),
        "MODEL_BUILDER": "",
    }
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):  # the cache must be HF_HOME's
        os.environ.pop(name, None)
    return run_script("0_preparando_dados.py", env=env)


def test_the_release_comes_from_the_hub_cache_checked_and_its_sha256_recorded(tmp_path):
    sha256 = hub_cache(tmp_path / "hf", release_zip())
    result = prepare(tmp_path)
    assert result.returncode == 0, result.stderr
    spider_dir = tmp_path / "spider"
    assert len(json.loads((spider_dir / "dev.json").read_text())) == 1034
    assert (spider_dir / "database" / "music_festival" / "music_festival.sqlite").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hf", "prepared", "spider"]  # no .spider.unpacking left
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert manifest["spider_release"] == {
        "repo": "xlangai/spider",
        "filename": "data/spider.zip",
        "revision": "177e69f41c5e57dff0a01b4066fdddf819bbb534",
        "sha256": sha256,
    }
    assert manifest["counts"]["spider_dev"] == 1034
    again = prepare(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "fetching" not in again.stdout and "up to date" in again.stdout


def test_no_cache_and_no_network_is_one_line_naming_the_fix(tmp_path):
    result = prepare(tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "could not fetch data/spider.zip of xlangai/spider at 177e69f41c5e" in result.stderr
    assert "SPIDER_DIR" in result.stderr and "SPIDER_SOURCE=local" in result.stderr
    assert not (tmp_path / "spider").exists() and not list(tmp_path.glob("prepared/*.json"))


@pytest.mark.parametrize(
    "release, message",
    [
        ({"databases": False}, "lacks the database files of 6 of its 6 databases"),
        ({"dev_size": 106}, "its dev.json holds 106 questions, not 1,034"),
        (None, "does not unzip"),
    ],
    ids=["no databases", "changed dev.json", "not a zip"],
)
def test_a_wrong_release_is_one_line_and_leaves_spider_dir_absent(tmp_path, release, message):
    sha256 = hub_cache(tmp_path / "hf", b"<html>not a zip</html>" if release is None else release_zip(**release))
    result = prepare(tmp_path, source="hub")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert message in result.stderr and f"sha256 {sha256[:12]}" in result.stderr
    assert "yale-lily.github.io/spider" in result.stderr and "SPIDER_SOURCE=local" in result.stderr
    assert not list(tmp_path.glob("*spider*")) and not list(tmp_path.glob("prepared/*.json"))  # nor a partial one


@pytest.mark.parametrize(
    "name, text", [("notes.txt", "mine"), ("fetched_from_hub.json", "[]")], ids=["notes", "record"]
)
def test_hub_source_never_overwrites_a_folder_made_by_hand(tmp_path, name, text):
    hub_cache(tmp_path / "hf", release_zip())
    (tmp_path / "spider").mkdir()
    (tmp_path / "spider" / name).write_text(text)
    result = prepare(tmp_path, source="hub")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "is not empty and holds no release fetched from xlangai/spider" in result.stderr
    assert [path.name for path in (tmp_path / "spider").iterdir()] == [name]


def test_auto_source_takes_a_local_release_without_the_network(tmp_path):
    result = prepare(tmp_path, source="auto", spider_dir=DEMO_SPIDER)
    assert result.returncode == 0, result.stderr
    assert "fetching" not in result.stdout
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert manifest["spider_release"] == "a folder made by hand" and manifest["counts"]["spider_dev"] == len(
        json.loads((DEMO_SPIDER / "dev.json").read_text())
    )


def test_an_unknown_spider_source_is_one_line(tmp_path):
    result = prepare(tmp_path, source="web")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "SPIDER_SOURCE='web' must be one of auto, hub, local" in result.stderr
