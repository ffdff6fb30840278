from __future__ import annotations

from pathlib import Path

import pytest

from iwtui import config
from iwtui.errors import ConfigError


def _load(tmp_path: Path, text: str) -> config.LoadedConfig:
    f = tmp_path / "c.yaml"
    f.write_text(text)
    return config.load({"IWTUI_CONFIG": str(f)})


def test_defaults_without_any_file(tmp_path: Path) -> None:
    loaded = config.load({"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert loaded.path is None
    assert loaded.config == config.Config()
    assert set(loaded.origins.values()) == {"default"}


def test_xdg_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "iwtui").mkdir()
    (tmp_path / "iwtui" / "config.yaml").write_text("read_only: true\n")
    loaded = config.load({"XDG_CONFIG_HOME": str(tmp_path)})
    assert loaded.config.read_only is True
    assert loaded.origins["read_only"] == str(tmp_path / "iwtui" / "config.yaml")


def test_values_and_origins(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "root: /opt/x\nrefresh_seconds: 5\nkeymap:\n  app.quit: ctrl+q\n")
    assert loaded.config.root == "/opt/x"
    assert loaded.config.refresh_seconds == 5.0
    assert isinstance(loaded.config.refresh_seconds, float)
    assert loaded.config.keymap == {"app.quit": "ctrl+q"}
    assert loaded.origins["root"].endswith("c.yaml")
    assert loaded.origins["theme"] == "default"
    over = loaded.with_overrides(root="/cli", read_only=None)
    assert over.config.root == "/cli" and over.origins["root"] == "command line"
    assert over.origins["read_only"] == "default"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, "refresh_secs: 3\n")
    msg = str(exc.value)
    assert "refresh_secs" in msg and "c.yaml" in msg and "refresh_seconds" in msg


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("read_only: 1\n", "read_only"),
        ("refresh_seconds: true\n", "refresh_seconds"),
        ("refresh_seconds: fast\n", "refresh_seconds"),
        ("refresh_seconds: 0\n", "refresh_seconds"),
        ("keymap: [a]\n", "keymap"),
        ("theme: 3\n", "theme"),
        ("tarpit_minutes: -5\n", "tarpit_minutes"),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'") as exc:
        _load(tmp_path, text)
    assert "c.yaml" in str(exc.value)


def test_keymap_unknown_binding_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown binding id 'app\.nope'"):
        _load(tmp_path, "keymap:\n  app.nope: x\n")


def test_keymap_conflicts_are_refused(tmp_path: Path) -> None:
    """Issue 14.5: `app.area.logs: "1"` was accepted while the navigation said 1 is the
    Message Queue; a key that does two things is refused, naming both bindings."""
    with pytest.raises(ConfigError, match=r"app.area.logs and app.area.queue both use 1"):
        _load(tmp_path, 'keymap:\n  app.area.logs: "1"\n')
    with pytest.raises(ConfigError, match=r"queue.delete and app.refresh both use r"):
        _load(tmp_path, "keymap:\n  queue.delete: r\n")
    # a swap is fine, and so is a key of a modal screen that shadows the app's
    ok = _load(tmp_path, 'keymap:\n  app.area.logs: "1"\n  app.area.queue: "4"\n')
    assert ok.config.keymap == {"app.area.logs": "1", "app.area.queue": "4"}
    assert _load(tmp_path, "keymap:\n  help.close: escape,q,x\n").config.keymap


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        _load(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match="line"):
        _load(tmp_path, "root: [unclosed\n")


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load({"IWTUI_CONFIG": str(tmp_path / "missing.yaml")})


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, "").config == config.Config()


def test_state_path_default_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    assert config.Config().state_path() == tmp_path / "st" / "iwtui"
    assert config.Config(state_dir=str(tmp_path / "x")).state_path() == tmp_path / "x"
