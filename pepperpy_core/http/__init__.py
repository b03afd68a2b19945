"""HTTP: the client, its request/response types and the behaviour chain."""

from pepperpy_core.http.chain import Middleware
from pepperpy_core.http.client import HttpClient, Transport
from pepperpy_core.http.models import FilePart, Request, Response, Timeout

__all__ = ["FilePart", "HttpClient", "Middleware", "Request", "Response", "Timeout", "Transport"]
