"""Request and Response, the project's own types, without a network."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from pepperpy_core import Request, Response, Timeout


def test_request_keyword_constructor_defaults() -> None:
    """Request(method, url) alone gives empty headers, no body, default Timeout, fresh dicts."""
    first, second = Request("GET", "http://h/"), Request("GET", "http://h/")
    assert first.headers == {} and first.body is None and first.files is None
    assert first.timeout == Timeout() and first.stream is False
    first.extensions["cache"] = False
    first.metadata["attempt"] = 2
    assert second.extensions == {} and second.metadata == {}


def test_shared_headers_are_copied_on_first_read() -> None:
    """A request built on a client's headers copies them before anyone can change them: a
    change to one request reaches neither the shared mapping nor another request."""
    shared = CIMultiDict({"User-Agent": "ua"})
    one = Request._with_shared_headers("GET", "http://h/", shared, Timeout())
    two = Request._with_shared_headers("GET", "http://h/", shared, Timeout())
    one.headers["X-Signature"] = "s"
    del one.headers["User-Agent"]
    assert shared == {"User-Agent": "ua"}
    assert two.headers == {"User-Agent": "ua"}
    assert one.headers == {"X-Signature": "s"}


def test_headers_setter_takes_any_mapping() -> None:
    """Assigning a plain dict gives a case-insensitive mapping."""
    request = Request("GET", "http://h/")
    request.headers = {"Content-Type": "text/plain"}
    assert request.headers["content-type"] == "text/plain"


def test_copy_with_copies_mutable_parts() -> None:
    """copy_with changes the named fields and shares no headers or dicts with the original."""
    original = Request("POST", "http://h/", headers={"A": "1"}, body=b"x",
                       extensions={"retries": 0}, metadata={"attempt": 1})
    copy = original.copy_with(url="http://h/2")
    copy.headers["A"] = "2"
    copy.extensions["retries"] = 5
    copy.metadata["attempt"] = 3
    assert copy.url == "http://h/2" and copy.body == b"x" and copy.method == "POST"
    assert original.headers["A"] == "1"
    assert original.extensions == {"retries": 0} and original.metadata == {"attempt": 1}
    assert copy == original.copy_with(url="http://h/2", headers={"A": "2"},
                                      extensions={"retries": 5}, metadata={"attempt": 3})


def test_request_repr_hides_secrets() -> None:
    """repr() shows method and URL with secret query values redacted."""
    text = repr(Request("GET", "http://h/x?api_key=s3cret&page=2"))
    assert "s3cret" not in text and "page=2" in text and text.startswith("<Request GET")


def test_received_response_matches_keyword_constructor() -> None:
    """The transports' fast constructor builds the same Response as the keyword one."""
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    request = Request("GET", "http://h/")
    fast = Response._received(201, headers, "http://h/", "Created", request, 10)
    slow = Response(201, headers=headers, url="http://h/", reason="Created", request=request,
                    max_body_size=10)
    for name in Response.__slots__:
        assert getattr(fast, name) == getattr(slow, name), name
