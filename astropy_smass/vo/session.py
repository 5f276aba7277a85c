"""Credentials and the HTTP session through which pyvo talks to a TAP service.

One store of the passwords and tokens this process was given (``_SECRETS``, shared by
the whole package) and `redact`, which removes them from any text; the credentials of
``.netrc`` or the environment (`session_from_environment`); and ``_ServiceSession``:
a time limit on every request, the URL's query parameters and credentials sent to the
service's host only, an HTML page instead of a VOTable an error at once.
"""

import contextlib
import netrc
import os
import re
import urllib.parse

from ..conf import Conf, conf
from ..exceptions import InputError, VOError

#: Seconds each HTTP request to a TAP service may take by default (``conf.tap_timeout``
#: changes it; see `astropy_smass.conf`).
DEFAULT_TIMEOUT = Conf.tap_timeout.defaultvalue


# -- secrets --------------------------------------------------------------------------------
# Every password and token this process was given for a service, so that any text it
# writes (messages, meta, files) can be cleaned of them.
_SECRETS = set()
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+(:[^/@\s]*)?@")
_QUERY_VALUE = re.compile(r"([?&][^=&#\s]+=)[^&#\s]+")


def _remember(*secrets):
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            _SECRETS.add(str(secret))
            _SECRETS.add(urllib.parse.quote(str(secret), safe=""))
            _SECRETS.add(urllib.parse.quote_plus(str(secret)))


def redact(text):
    """``text`` without the passwords and tokens given for services, nor user names and
    query parameter values in URLs.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        User information in URLs (``user:password@``) is removed, the values of URL query
        parameters become ``***``, and every password or token that this process was
        given for a service (in a URL, a session, the environment or ``.netrc``) is
        replaced by ``***`` wherever it appears.

    Examples
    --------
    >>> redact("http://me:secret@example.org/tap?token=abc123/sync")
    'http://example.org/tap?token=***'
    """
    text = _USERINFO.sub("", str(text))
    text = _QUERY_VALUE.sub(r"\1***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _split_url(url):
    """``(base, params, auth)``: the URL without user information or query, its query
    parameters (sent with every request to the service), and ``(user, password)``."""
    parts = urllib.parse.urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{redact(url)!r} is not a TAP service URL (http:// or https://)")
    auth = None
    if parts.username is not None:
        auth = (urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password or ""))
        _remember(auth[1])
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    _remember(*(value for _, value in params))
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:  # IPv6
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, params, auth


def _safe_url(base, params):
    """The URL to show and record: no user information, query values as ``***``."""
    if not params:
        return base
    return base + "?" + "&".join(f"{urllib.parse.quote(k)}=***" for k, _ in params)


def session_from_environment(url, environ=None):
    """A `requests.Session` with the credentials the environment holds for ``url``.

    Used by the command line. In order of precedence:

    1. ``ASTROPY_SMASS_TAP_TOKEN``: sent as ``Authorization: Bearer <token>``;
    2. ``ASTROPY_SMASS_TAP_USER`` and ``ASTROPY_SMASS_TAP_PASSWORD``: HTTP basic
       authentication;
    3. the ``machine`` entry of the service's host in ``.netrc`` (``$NETRC``, else
       ``~/.netrc``): HTTP basic authentication.

    Credentials in the URL itself (``user:password@``) win over all of these. The
    credentials are sent to the service's host only.

    Parameters
    ----------
    url : str
    environ : mapping, optional
        Default `os.environ`.

    Returns
    -------
    `requests.Session` or None
        None when the environment holds no credentials for the host.
    """
    import requests

    environ = os.environ if environ is None else environ
    host = urllib.parse.urlsplit(str(url)).hostname
    session = requests.Session()
    session.trust_env = False  # the credentials chosen here, not requests' own .netrc look-up
    token = environ.get("ASTROPY_SMASS_TAP_TOKEN")
    if token:
        _remember(token)
        session.auth = _HostAuth(host, token=token)
        return session
    user, password = environ.get("ASTROPY_SMASS_TAP_USER"), environ.get(
        "ASTROPY_SMASS_TAP_PASSWORD")
    if user and password is not None:
        _remember(password)
        session.auth = _HostAuth(host, basic=(user, password))
        return session
    path = environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if host and os.path.isfile(path):
        try:
            entry = netrc.netrc(path).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise VOError(f"cannot read {path}: {redact(exc)}") from None
        if entry is not None:
            login, _, password = entry
            _remember(password)
            session.auth = _HostAuth(host, basic=(login or "", password or ""))
            return session
    session.close()
    return None


# -- sessions -------------------------------------------------------------------------------
def _host_auth_class():
    import requests

    class HostAuth(requests.auth.AuthBase):
        """HTTP basic or bearer credentials, sent to one host only."""

        def __init__(self, host, basic=None, token=None):
            self.host, self.basic, self.token = host, basic, token

        def __call__(self, request):
            if urllib.parse.urlsplit(request.url).hostname != self.host:
                return request
            if self.token is not None:
                request.headers["Authorization"] = f"Bearer {self.token}"
                return request
            return requests.auth.HTTPBasicAuth(*self.basic)(request)

        def __repr__(self):
            return f"<credentials for {self.host}>"

    return HostAuth


def _HostAuth(host, basic=None, token=None):  # noqa: N802 (a class, made lazily)
    return _host_auth_class()(host, basic=basic, token=token)


def _has_own_timeout(session):
    import requests

    request = getattr(type(session), "request", None)
    return request is not None and request is not requests.Session.request


class _ServiceSession:
    """What pyvo talks through: the caller's session (or a new one), with

    * a time limit on every request that has none (unless the caller's session sets
      its own: then it is kept);
    * the service URL's query parameters (``?token=``) and user information added to
      every request to the service's host, and to no other host;
    * an answer that is an HTML page turned into a `VOError` at once.
    """

    def __init__(self, session, timeout, base, params, auth):
        import requests

        self.owned = session is None
        self.session = requests.Session() if session is None else session
        keep = timeout is None and not self.owned and _has_own_timeout(self.session)
        self.timeout = None if keep else (conf.tap_timeout if timeout is None else timeout)
        self.base = base
        self.safe = _safe_url(base, params)
        self.netloc = urllib.parse.urlsplit(base).netloc
        self.params = list(params)
        self.auth = auth

    # pyvo calls get/post/put/delete (an AuthSession has no request()).
    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def request(self, method, url, **kwargs):
        """One request, its redirects followed here, so that each hop to the service's
        host gets the query parameters and credentials (requests would drop the
        ``?token=`` of the first URL)."""
        follow = kwargs.pop("allow_redirects", True)
        response = self._send(method, url, **kwargs)
        for _ in range(10):
            if not (follow and response.is_redirect):
                break
            url = urllib.parse.urljoin(str(url), response.headers["Location"])
            if response.status_code in (301, 302, 303) and method.upper() != "HEAD":
                method = "GET"
                for key in ("data", "files", "json"):
                    kwargs.pop(key, None)
            kwargs.pop("params", None)  # a redirect's URL is complete
            response.close()
            response = self._send(method, url, **kwargs)
        self._check(response, method, url)
        return response

    def _send(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        if self.timeout is not None:
            kwargs.setdefault("timeout", self.timeout)
        if urllib.parse.urlsplit(str(url)).netloc == self.netloc:
            if self.params:
                present = {k for k, _ in urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(str(url)).query)}
                extra = [(k, v) for k, v in self.params if k not in present]
                given = kwargs.get("params") or []
                given = list(given.items()) if isinstance(given, dict) else list(given)
                kwargs["params"] = given + extra
            if self.auth is not None:
                kwargs.setdefault("auth", self.auth)
        caller = getattr(self.session, method.lower(), None)
        if caller is None:
            response = self.session.request(method, url, **kwargs)
        else:
            response = caller(url, **kwargs)
        if self.params:
            # pyvo builds job URLs from response.url: without the parameters added here,
            # or "/phase" would land after "?token=...".
            response.url = str(url)
        return response

    def _check(self, response, method, url):
        kind = str(response.headers.get("Content-Type", "")).lower()
        if response.status_code < 400 and ("text/html" in kind or "xhtml" in kind):
            title = ""
            with contextlib.suppress(Exception):
                match = re.search(rb"<title[^>]*>(.*?)</title>", response.content[:65536],
                                  re.I | re.S)
                if match:
                    title = " ".join(match.group(1).decode("utf-8", "replace").split())
                    title = f" ({title[:80]!r})"
            response.close()
            what = urllib.parse.urlsplit(str(url)).path.rsplit("/", 1)[-1] or "the request"
            raise VOError(redact(
                f"the TAP service at {self.safe} answered {method} {what} with an HTML "
                f"page{title}, not a VOTable or UWS document: is {self.safe} the base URL "
                "of a TAP service?"))

    def __getattr__(self, name):  # update_from_capabilities, headers, close...
        return getattr(self.session, name)

    def close(self):
        if self.owned:
            self.session.close()


@contextlib.contextmanager
def _tap_service(service_or_url, timeout, session=None):
    """``(service, safe URL, timeout used)``: a TAPService talking through a
    `_ServiceSession`, closed at the end when this function made it."""
    import pyvo

    if isinstance(service_or_url, pyvo.dal.TAPService):
        url = service_or_url.baseurl
        if session is None:
            session = getattr(service_or_url, "_session", None)
    else:
        url = str(service_or_url)
    base, params, auth = _split_url(url)
    wrapped = _ServiceSession(session, timeout, base, params, auth)
    try:
        yield pyvo.dal.TAPService(base, session=wrapped), wrapped
    finally:
        wrapped.close()


def _short(exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    # urllib3 repeats the pool and the URL; the last clause says what happened.
    match = re.search(r"\[Errno -?\d+\][^')\]]*", text)
    if match:
        text = match.group(0)
    text = redact(text)
    return text if len(text) <= 240 else text[:237] + "..."
