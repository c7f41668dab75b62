"""DCLM's YAML paths resolve against user resource folders, so the shipped configs run unchanged."""

from __future__ import annotations

import pytest

from dclm_resources.processing.resource_paths import ResourceNotFoundError, resolve_step_paths
from dclm_tests.paths import shared_data


def test_dclm_banlist_path_resolves_by_basename():
    banlists = shared_data("wordlists", "dclm_banlists")
    params = {"banlist_from_fname": "baselines/mappers/banlists/ldnoobw.txt", "exact_word": True}
    resolved = resolve_step_paths(params, [str(banlists)])
    assert resolved == {"banlist_from_fname": str(banlists / "ldnoobw.txt"), "exact_word": True}


def test_path_as_written_under_a_resource_dir_wins(tmp_path):
    nested = tmp_path / "baselines" / "mappers" / "iana_tlds.txt"
    nested.parent.mkdir(parents=True)
    nested.write_text("com\n")
    (tmp_path / "iana_tlds.txt").write_text("org\n")
    resolved = resolve_step_paths({"tlds_filepath": "baselines/mappers/iana_tlds.txt"}, [str(tmp_path)])
    assert resolved["tlds_filepath"] == str(nested)


def test_env_dirs_are_searched(tmp_path, monkeypatch):
    (tmp_path / "model.bin").write_bytes(b"x")
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(tmp_path))
    from dclm_resources.processing.resource_paths import resource_dirs

    assert resolve_step_paths({"model_filename": "model.bin"}, resource_dirs())["model_filename"] == str(
        tmp_path / "model.bin"
    )


def test_missing_file_lists_places_looked(tmp_path):
    with pytest.raises(ResourceNotFoundError, match="refinedweb_banned_domains_curated.txt.*looked at"):
        resolve_step_paths(
            {"banlist_from_fname": "baselines/mappers/banlists/refinedweb_banned_domains_curated.txt"}, [str(tmp_path)]
        )


def test_uris_and_non_path_params_untouched():
    params = {"model_filename": "s3://bucket/model.bin", "banlist": ["a", "b"]}
    assert resolve_step_paths(params, []) == params
