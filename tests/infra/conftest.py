"""The deployable artifact, built once per test session into a directory of this run."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``chalice package --stage prod`` + the merge template: sam.json and deployment.zip."""
    from infra.package import build
    from infra.venvs import NoLambdaPython, lambda_python

    try:
        lambda_python()
    except NoLambdaPython as exc:  # the package targets the Lambda runtime's Python only
        pytest.skip(f"cannot build the Lambda package here: {exc}")
    return build("prod", tmp_path_factory.mktemp("package") / "prod")
