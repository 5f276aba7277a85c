"""Small HTTP servers on the loopback interface, for what the real DaCHS cannot show.

* `html_server`: a web site, not a TAP service (every answer an HTML page);
* `uws_server`: a TAP service whose asynchronous job reports a given phase forever
  (an unknown one, none, UNKNOWN, or EXECUTING for a job that never ends);
* `auth_proxy`: DaCHS behind HTTP authentication (basic, bearer or ``?token=``), which
  the CI's DaCHS does not require;
* `file_server`: serves the files of a folder (upload tables given by URL).

Each is a context manager that yields its base URL and records the requests it got.
"""

import base64
import contextlib
import http.client
import http.server
import threading
import urllib.parse


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.requests = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # a client that hung up is no news


@contextlib.contextmanager
def _serving(handler):
    server = _Server(handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _record(self):
        body = self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        return body


# -- a web page -----------------------------------------------------------------------------
class _HtmlHandler(_Handler):
    def _answer(self):
        self._record()
        self._send(200, b"<!DOCTYPE html><html><head><title>Welcome to our archive</title>"
                        b"</head><body><p>Search our catalogues!</p></body></html>",
                   "text/html; charset=utf-8")

    do_GET = do_POST = do_DELETE = _answer


@contextlib.contextmanager
def html_server():
    """Every request gets 200 and an HTML page. Yields the server (``.url``)."""
    with _serving(_HtmlHandler) as server:
        yield server


# -- a UWS job stuck in one phase -----------------------------------------------------------
_UWS = """<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0"
         xmlns:xlink="http://www.w3.org/1999/xlink">
  <uws:jobId>job1</uws:jobId>
  {phase}
  <uws:quote xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
  <uws:executionDuration>0</uws:executionDuration>
  <uws:destruction>2099-01-01T00:00:00Z</uws:destruction>
  <uws:parameters><uws:parameter id="query">SELECT 1</uws:parameter></uws:parameters>
  <uws:results/>
</uws:job>
"""


def _uws_handler(phase):
    class Handler(_Handler):
        def _job(self):
            element = "" if phase is None else f"<uws:phase>{phase}</uws:phase>"
            self._send(200, _UWS.format(phase=element).encode(), "text/xml")

        def do_GET(self):
            self._record()
            path = urllib.parse.urlsplit(self.path).path
            if path.endswith("/phase"):
                self._send(200, (phase or "").encode())
            else:
                self._job()

        def do_POST(self):
            self._record()
            path = urllib.parse.urlsplit(self.path).path
            if path.endswith("/async"):
                self._send(303, headers=[("Location", f"{self.server.url}/tap/async/job1")])
            else:
                self._send(303, headers=[("Location", f"{self.server.url}/tap/async/job1")])

        def do_DELETE(self):
            self._record()
            self._send(303, headers=[("Location", f"{self.server.url}/tap/async")])

    return Handler


@contextlib.contextmanager
def uws_server(phase):
    """A TAP service whose job ``/tap/async/job1`` is in ``phase`` (None: no phase).

    Yields the server; its TAP URL is ``server.url + "/tap"``; ``server.requests``
    lists ``(method, path, headers, body)``.
    """
    with _serving(_uws_handler(phase)) as server:
        yield server


# -- DaCHS behind authentication ------------------------------------------------------------
def _proxy_handler(target, user, password, token):
    target = urllib.parse.urlsplit(target)

    class Handler(_Handler):
        def _authorised(self):
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            given = dict(query).get("token")
            header = self.headers.get("Authorization", "")
            basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            ok = header == basic or (token and (header == f"Bearer {token}" or given == token))
            rest = [(k, v) for k, v in query if k != "token"]
            return ok, urllib.parse.urlunsplit(("", "", parts.path,
                                                urllib.parse.urlencode(rest), ""))

        def _forward(self):
            body = self._record()
            ok, path = self._authorised()
            if not ok:
                self._send(401, b"authentication required", headers=[
                    ("WWW-Authenticate", 'Basic realm="smass-test"')])
                return
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept", "content-length")}
            connection.request(self.command, path, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            mine, theirs = self.server.url.encode(), f"{target.scheme}://{target.netloc}"
            data = data.replace(theirs.encode(), mine)
            extra = []
            if answer.getheader("Location"):
                extra.append(("Location",
                              answer.getheader("Location").replace(theirs, self.server.url)))
            self._send(answer.status, data, answer.getheader("Content-Type") or "text/plain",
                       extra)
            connection.close()

        do_GET = do_POST = do_DELETE = _forward

    return Handler


@contextlib.contextmanager
def auth_proxy(target, user="smassuser", password="s3cret-pw", token="tok-9d2f7a"):
    """``target`` (a DaCHS base URL, ``http://127.0.0.1:8080``) behind authentication.

    A request passes with HTTP basic ``user:password``, ``Authorization: Bearer token``
    or a ``token`` query parameter; otherwise 401. Yields the server (``.url``).
    """
    with _serving(_proxy_handler(target, user, password, token)) as server:
        yield server


# -- static files ---------------------------------------------------------------------------
@contextlib.contextmanager
def file_server(folder):
    """Serves the files of ``folder``. Yields the server (``.url``)."""
    import functools

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Handler, directory=str(folder))
    server = _Server(handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
