"""Third-party peers for the HTTP tests: httpbin under gunicorn and nginx, once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peers.http_site import NGINX_SNIPPET, make_site
from peers.httpbin import HttpBin, run_httpbin
from peers.nginx import Nginx, run_nginx


@pytest.fixture(scope="session")
def httpbin() -> Iterator[HttpBin]:
    with run_httpbin() as server:
        yield server


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    root = tmp_path_factory.mktemp("nginx-root")
    make_site(root)
    with run_nginx(root, NGINX_SNIPPET.replace("{root}", str(root))) as server:
        yield server
