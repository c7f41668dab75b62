"""Where the enrichers' models come from: paths, bare names (models dir, resource dirs), s3:// URIs, the default
LID model's selection order, and loading each model once per process.

Models are the tiny ones of ``models.py`` (trained in a second); the offline LID model's build is replaced by a
copy of the tiny LID model here (its real build is tested in ``dclm_tests/lid``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.processing import get_mapper
from dclm_resources.processing.enrichers import models
from dclm_resources.processing.enrichers.models import ModelFileError
from dclm_tests.processing.models import train_tiny_lid, train_tiny_quality

QUALITY = "classify_fasttext_hq_prob_enricher"
LID = "detect_lang_whole_page_enricher"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny_models")
    return {"lid": train_tiny_lid(folder), "quality": train_tiny_quality(folder)}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty models dir, resource dir and download cache; no configured LID model; cwd elsewhere."""
    dirs = {name: tmp_path / name for name in ("models", "res", "cache", "cwd")}
    for folder in dirs.values():
        folder.mkdir()
    monkeypatch.setenv("DCLM_MODELS_DIR", str(dirs["models"]))
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(dirs["res"]))
    monkeypatch.setenv("DCLM_MODEL_CACHE", str(dirs["cache"]))
    monkeypatch.delenv("DCLM_LID_MODEL", raising=False)
    monkeypatch.chdir(dirs["cwd"])
    models.clear_model_cache()
    return dirs


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path fastText actually reads a model from (after the process cache)."""
    import fasttext

    calls: list[str] = []
    real = fasttext.load_model
    monkeypatch.setattr(fasttext, "load_model", lambda path: calls.append(path) or real(path))
    return calls


def score(fn: Any, text: str = "The committee met on Tuesday.") -> Any:
    (page,) = fn({"text": text})
    return page


# ------------------------------------------------------------------------------------------------ paths and names


def test_absolute_and_relative_paths_used_as_given(tiny: dict[str, Path], env: dict[str, Path]) -> None:
    assert models.locate_model(str(tiny["quality"]), "op", "model_filename", "") == str(tiny["quality"])
    shutil.copy(tiny["quality"], env["cwd"] / "here.bin")
    shutil.copy(tiny["lid"], env["models"] / "here.bin")  # an existing relative path wins over the models dir
    assert models.locate_model("here.bin", "op", "model_filename", "") == str(env["cwd"] / "here.bin")
    assert isinstance(score(get_mapper(QUALITY, model_filename="here.bin"))["fasttext_hq_prob"], float)


def test_bare_name_models_dir_then_resource_dirs(tiny: dict[str, Path], env: dict[str, Path]) -> None:
    shutil.copy(tiny["quality"], env["res"] / "fasttext_oh_eli5.bin")
    assert models.locate_model("fasttext_oh_eli5.bin", "op", "p", "") == str(
        env["res"] / "fasttext_oh_eli5.bin"
    )
    shutil.copy(tiny["quality"], env["models"] / "fasttext_oh_eli5.bin")
    assert models.locate_model("fasttext_oh_eli5.bin", "op", "p", "") == str(
        env["models"] / "fasttext_oh_eli5.bin"
    )
    # DCLM's checkout-relative spelling resolves by base name.
    dclm = "baselines/mappers/enrichers/quality_prediction_enrichment_models/fasttext_oh_eli5.bin"
    assert models.locate_model(dclm, "op", "p", "") == str(env["models"] / "fasttext_oh_eli5.bin")
    fn = get_mapper(QUALITY, model_filename="fasttext_oh_eli5.bin", key="q")
    assert -1e-4 <= score(fn)["q"] <= 1 + 1e-4  # fastText probabilities can overshoot 1 slightly


def test_default_models_dir_is_under_dclm_home(
    tiny: dict[str, Path], env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DCLM_MODELS_DIR")
    monkeypatch.setenv("DCLM_HOME", str(tmp_path / "home"))
    assert models.models_dir() == str(tmp_path / "home" / "models")
    (tmp_path / "home" / "models").mkdir(parents=True)
    shutil.copy(tiny["quality"], tmp_path / "home" / "models" / "q.bin")
    assert models.locate_model("q.bin", "op", "p", "") == str(tmp_path / "home" / "models" / "q.bin")


def test_missing_or_corrupt_model_fails_before_any_page(env: dict[str, Path]) -> None:
    with pytest.raises(ModelFileError, match=r"model_filename='nope\.bin' was not found.*models.*res"):
        get_mapper(QUALITY, model_filename="nope.bin")
    with pytest.raises(ModelFileError, match=r"/abs/nope\.bin"):
        get_mapper(QUALITY, model_filename="/abs/nope.bin")
    (env["models"] / "broken.bin").write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelFileError, match=r"broken\.bin.*not a loadable fastText model"):
        get_mapper(QUALITY, model_filename="broken.bin")
    with pytest.raises(ModelFileError, match=r"broken\.bin"):
        get_mapper(LID, model="fasttext", model_path="broken.bin")


# ------------------------------------------------------------------------------------------------ S3


@pytest.fixture
def s3_models(
    s3_storage: Any,
    s3_endpoint: str,
    tiny: dict[str, Path],
    env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A bucket holding the tiny models; the enrichers' own Storage() finds the endpoint through boto3's env."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    for name, path in tiny.items():
        s3_storage.storage.write_bytes(f"{s3_storage.root}/models/{name}.bin", path.read_bytes())
    return f"{s3_storage.root}/models"


def test_s3_uri_downloaded_once_per_process(
    s3_models: str, env: dict[str, Path], load_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dclm_resources.storage import Storage

    reads: list[str] = []
    real_open = Storage.open_read
    monkeypatch.setattr(Storage, "open_read", lambda self, uri: reads.append(uri) or real_open(self, uri))
    uri = f"{s3_models}/quality.bin"
    first = get_mapper(QUALITY, model_filename=uri)
    second = get_mapper(QUALITY, model_filename=uri)
    assert score(first) == score(second)
    assert reads == [uri] and len(load_calls) == 1
    local = Path(load_calls[0])
    assert local.is_relative_to(env["cache"]) and local.name == "quality.bin"
    assert not [p for p in local.parent.iterdir() if p.name.endswith(".part")]  # atomic: no leftovers
    with pytest.raises(ModelFileError, match=r"nope\.bin.*does not exist"):
        get_mapper(QUALITY, model_filename=f"{s3_models}/nope.bin")


def test_s3_models_dir(s3_models: str, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCLM_MODELS_DIR", s3_models)
    fn = get_mapper(LID, model="fasttext", model_path="lid.bin")
    assert score(fn, "Der Hund schläft im Garten")["language_id_whole_page_fasttext"]
    assert models.resolve_model_location("quality.bin") == f"{s3_models}/quality.bin"
    with pytest.raises(ModelFileError, match=r"nope\.bin.*models/nope\.bin"):
        get_mapper(QUALITY, model_filename="nope.bin")


# ------------------------------------------------------------------------------------------------ process cache


def test_model_loaded_once_per_process_and_reloaded_when_replaced(
    tiny: dict[str, Path], env: dict[str, Path], load_calls: list[str]
) -> None:
    path = env["models"] / "q.bin"
    shutil.copy(tiny["quality"], path)
    (env["res"] / "alias.bin").symlink_to(path)
    for _shard in range(4):
        get_mapper(QUALITY, model_filename="q.bin")
    get_mapper(QUALITY, model_filename="alias.bin")  # same file by another name: same cache entry
    assert load_calls == [str(path)] and models.loaded_models() == [str(path)]
    shutil.copy(tiny["lid"], path)  # replaced on disk: size and mtime change
    get_mapper(QUALITY, model_filename="q.bin")
    assert load_calls == [str(path), str(path)]


# ------------------------------------------------------------------------------------------------ default LID model


@pytest.fixture
def fake_offline_build(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the ~30 s offline build by copying the tiny LID model; records the outputs built."""
    from dclm_resources.lid import build

    built: list[str] = []

    def fake(output_path: str | os.PathLike[str], recipe: Any = None) -> str:
        built.append(str(output_path))
        shutil.copy(tiny["lid"], output_path)
        return str(output_path)

    monkeypatch.setattr(build, "build_offline_lid_model", fake)
    return built


def test_default_lid_model_selection_order(
    tiny: dict[str, Path],
    env: dict[str, Path],
    fake_offline_build: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dclm_resources.lid import OFFLINE_LID_MODEL_NAME

    def chosen() -> str:
        return models.find_lid_model("op")

    # 4. nothing configured: the offline model, built once into the models dir, then reused.
    offline = str(env["models"] / OFFLINE_LID_MODEL_NAME)
    assert chosen() == offline and chosen() == offline and fake_offline_build == [offline]
    assert score(get_mapper(LID, model="fasttext"))["language_id_whole_page_fasttext"]
    # 3. lid.176.bin in a resource dir beats it ...
    shutil.copy(tiny["lid"], env["res"] / "lid.176.bin")
    assert chosen() == str(env["res"] / "lid.176.bin")
    # 2. ... and lid.176.bin in the models dir beats the resource dirs.
    shutil.copy(tiny["lid"], env["models"] / "lid.176.bin")
    assert chosen() == str(env["models"] / "lid.176.bin")
    # 1. $DCLM_LID_MODEL beats every default (a bare name is located like any model) ...
    shutil.copy(tiny["lid"], env["models"] / "my_lid.bin")
    monkeypatch.setenv("DCLM_LID_MODEL", "my_lid.bin")
    assert chosen() == str(env["models"] / "my_lid.bin")
    # 0. ... and an explicit model_path beats everything.
    assert models.find_lid_model("op", str(tiny["lid"])) == str(tiny["lid"])
    assert fake_offline_build == [offline]


def test_offline_model_on_s3_models_dir(
    s3_models: str,
    s3_storage: Any,
    env: dict[str, Path],
    fake_offline_build: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Built once in the local cache and uploaded; another machine (fresh cache) downloads instead of building."""
    from dclm_resources.lid import OFFLINE_LID_MODEL_NAME

    monkeypatch.setenv("DCLM_MODELS_DIR", s3_models)
    first = models.find_lid_model("op")
    assert Path(first).is_relative_to(env["cache"]) and len(fake_offline_build) == 1
    assert s3_storage.storage.exists(f"{s3_models}/{OFFLINE_LID_MODEL_NAME}")
    monkeypatch.setenv("DCLM_MODEL_CACHE", str(env["cache"] / "other_machine"))
    models.clear_model_cache()
    second = models.find_lid_model("op")
    assert second != first and Path(second).read_bytes() == Path(first).read_bytes()
    assert len(fake_offline_build) == 1
