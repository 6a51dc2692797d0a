"""ASSAY_PROXY_UPSTREAMS: `name=url,...`; anything else is refused at start with a clear error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from assay.local.proxies import Upstream, parse_upstreams


def test_entries() -> None:
    text = " openai=https://api.openai.com , gemini=http://127.0.0.1:9000/v1beta ,"
    assert parse_upstreams(text) == [
        Upstream("openai", "https://api.openai.com"),
        Upstream("gemini", "http://127.0.0.1:9000/v1beta"),
    ]
    assert parse_upstreams("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openai", "is not name=url"),
        ("=https://x", "is not name=url"),
        ("a b=https://x", "is not name=url"),
        ("a=ftp://x", "must be http(s)"),
        ("a=https://", "must be http(s)"),
        ("a=https://x,a=https://y", "names 'a' twice"),
    ],
)
def test_bad_entries(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_upstreams(text)


def test_serve_refuses_a_bad_setting_with_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "ASSAY_DATA_DIR": str(tmp_path), "ASSAY_PROXY_UPSTREAMS": "openai"}
    result = subprocess.run(
        [sys.executable, "-m", "assay.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Error: ASSAY_PROXY_UPSTREAMS entry 'openai' is not name=url" in result.stderr
    assert "Traceback" not in result.stderr
