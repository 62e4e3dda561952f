"""Secrets stay secret: never in plain config, a ConfigMap, a stack output, or a log."""

from __future__ import annotations

import json

import pytest

from config.settings import ConfigError
from offline.simulate import Simulation, redact, run_stack, secret_paths
from tests.k8s import k8s
from tests.kinds import CONFIG_MAP, SECRET

SECRET_VALUES = {
    "appKey": "base64:SuperSecretAppKey=",
    "awsAccessKeyId": "AKIASECRETACCESSKEY",
    "awsSecretAccessKey": "aws/secret+access=key",
    "rollbarToken": "rollbar-secret-token",
    "healthCheckEmail": "secret-health@example.com",
}


@pytest.fixture(scope="module")
def with_secrets() -> Simulation:
    return run_stack("dev", secret_overrides=SECRET_VALUES)


def test_every_value_of_the_app_secret_is_a_pulumi_secret(with_secrets: Simulation) -> None:
    secret = k8s(with_secrets, SECRET, "posts")
    paths = secret_paths(secret.inputs)
    keys = secret.value("stringData")
    assert len(keys) == 7
    for key in keys:
        path = f"stringData.{key}"
        assert any(path == p or path.startswith(p + ".") for p in paths), path
    assert secret.value("stringData.AWS_SECRET_ACCESS_KEY") == "aws/secret+access=key"


def test_no_secret_reaches_any_other_input_or_output(with_secrets: Simulation) -> None:
    """Everything the engine receives, with the values marked secret taken out, and every plain
    stack output, contain none of the secret values nor the database passwords."""
    app_secret = k8s(with_secrets, SECRET, "posts")
    provider = with_secrets.one("pulumi:providers:kubernetes")
    plain = json.dumps(
        [redact(r.inputs) for r in with_secrets.registrations]
        + [o.value for o in with_secrets.outputs.values() if not o.secret]
        + with_secrets.warnings,
        default=str,
    )
    leaks = [
        *SECRET_VALUES.values(),
        "mock-p@ss",
        "mock-admin-password",
        "placeholder-digitalocean",
    ]
    for value in leaks:
        assert value not in plain, value
    assert app_secret.value("stringData.APP_KEY") == SECRET_VALUES["appKey"]
    assert secret_paths(provider.inputs) == ["kubeconfig"]


def test_config_map_holds_nothing_secret_looking(with_secrets: Simulation) -> None:
    data = k8s(with_secrets, CONFIG_MAP, "posts").value("data")
    for key in data:
        assert not any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "_KEY")), key


@pytest.mark.parametrize("key", ["appKey", "awsSecretAccessKey", "rollbarToken"])
def test_a_secret_set_in_plain_text_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {key: "typed-without---secret"})
    assert f"{key}: must be stored encrypted; set it with `pulumi config set --secret {key}" in (
        str(caught.value)
    )
    assert "typed-without---secret" not in str(caught.value)


def test_a_credential_in_app_settings_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"appSettings": '["MAIL_PASSWORD=hunter2"]'})
    assert "appSettings: MAIL_PASSWORD looks like a credential" in str(caught.value)
    assert "hunter2" not in str(caught.value)
