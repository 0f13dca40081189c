"""Maturin's PEP 517 build backend, set never to install Rust by itself.

Without a Rust toolchain, maturin's backend downloads one into a temporary directory
(its documented switch against that is the ``MATURIN_NO_INSTALL_RUST`` variable). An
sdist install must not fetch a compiler behind the user's back: this backend sets that
switch and fails at once, before anything is downloaded, with what to do instead.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Mapping, Optional

os.environ["MATURIN_NO_INSTALL_RUST"] = "1"

import maturin  # noqa: E402
from maturin import (  # noqa: E402,F401
    build_sdist,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_wheel,
)

MISSING_RUST = (
    "tidelog: no prebuilt wheel fits this platform, and building it from the source "
    "distribution needs a Rust toolchain (cargo was not found on PATH). Install Rust "
    "(https://rustup.rs or your system's package manager) and retry; nothing was downloaded."
)


def _require_cargo() -> None:
    if shutil.which("cargo") is None:
        raise SystemExit(MISSING_RUST)


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> list[str]:
    _require_cargo()
    return maturin.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings: Optional[Mapping[str, Any]] = None) -> list[str]:
    _require_cargo()
    return maturin.get_requires_for_build_editable(config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_cargo()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
