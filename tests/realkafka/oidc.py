"""A small OAuth 2.0 / OIDC token endpoint for tests, and the broker settings that trust it.

Stdlib only (plus the ``openssl`` command line, for keys and certificates made at start-up in a temp
dir). ``OidcServer`` runs an HTTPS server on a thread of its own, with a certificate for
``localhost``/``127.0.0.1`` from a test CA it makes itself:

- ``POST /token``: the client-credentials grant. The client authenticates with HTTP Basic (what
  librdkafka sends) or with ``client_id``/``client_secret`` form fields. The answer is
  ``{"access_token": <RS256 JWT>, "token_type": "bearer", "expires_in": N, "scope": ...}``; the JWT
  carries ``sub`` (the client id), ``iss``, ``aud``, ``iat``, ``exp``, ``scope`` and ``jti``. Bad
  credentials get 401 ``{"error": "invalid_client", ...}``, another grant 400
  ``unsupported_grant_type``.
- ``GET /jwks``: the RSA signing key as a JWKS with a ``kid``.

Clients are registered with ``add_client(id, secret, audience=..., lifetime=...)``: a per-client
audience lets a test obtain tokens that the broker must reject, a per-client lifetime makes a
client refresh. Every request, and every connection that ended without one (a refused certificate),
is recorded in ``requests``.

``broker_kwargs(server)`` returns the ``KafkaBroker`` arguments of an ``OIDC`` listener
(SASL_PLAINTEXT, OAUTHBEARER) validated by Kafka's ``OAuthBearerValidatorCallbackHandler`` against
this server's JWKS, expected audience and issuer.

Usage::

    with OidcServer() as server, KafkaBroker(**broker_kwargs(server)) as broker:
        server.add_client("app", "s3cret")
        config = {"bootstrap.servers": broker.listener_address("OIDC"), **server.client_config("app", "s3cret")}
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from realkafka.service import Service

__all__ = ["AUDIENCE", "LISTENER", "OidcRequest", "OidcServer", "broker_kwargs"]

LISTENER = "OIDC"
AUDIENCE = "ferrokafka-test-cluster"
VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
LOGIN_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"

# DER prefix of a SHA-256 DigestInfo (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _openssl(*args: str | Path, cwd: Path) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("`openssl` not found on PATH (needed to make the test CA and keys)")
    try:
        proc = subprocess.run(
            [openssl, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"openssl {args[0]} timed out after 60 s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed (exit {proc.returncode}):\n{proc.stdout}")
    return proc.stdout


class _RsaKey:
    """An RSA private key made by openssl; signs RS256 (PKCS#1 v1.5, SHA-256) in pure Python."""

    def __init__(self, path: Path, cwd: Path) -> None:
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path, cwd=cwd)
        text = _openssl("rsa", "-in", path, "-noout", "-text", cwd=cwd)
        self.n = self._field(text, "modulus")
        self.d = self._field(text, "privateExponent")
        match = re.search(r"publicExponent: (\d+)", text)
        assert match is not None, text
        self.e = int(match.group(1))
        self.size = (self.n.bit_length() + 7) // 8
        jwk = {"e": _b64url(_int_bytes(self.e)), "kty": "RSA", "n": _b64url(_int_bytes(self.n))}
        # RFC 7638 thumbprint as the key id.
        self.kid = _b64url(hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest())

    @staticmethod
    def _field(text: str, name: str) -> int:
        match = re.search(rf"^{name}:\s*\n((?:\s+[0-9a-f:]+\n)+)", text, re.MULTILINE)
        assert match is not None, f"no {name} in openssl's output"
        return int(re.sub(r"[\s:]", "", match.group(1)), 16)

    def sign(self, message: bytes) -> bytes:
        digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest_info) - 3) + b"\x00" + digest_info
        return pow(int.from_bytes(padded, "big"), self.d, self.n).to_bytes(self.size, "big")

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url(_int_bytes(self.n)),
            "e": _b64url(_int_bytes(self.e)),
        }


@dataclass
class OidcRequest:
    """One request to the server, as the log records it."""

    at: float  # time.monotonic()
    method: str
    path: str
    status: int
    client_id: str | None = None
    auth: str | None = None  # "basic", "form" or None
    grant_type: str | None = None
    scope: str | None = None
    error: str | None = None  # the OAuth error, or why a connection had no request (method TLS/CLOSED)


@dataclass
class _Client:
    secret: str
    audience: str
    lifetime: float
    extra_claims: dict[str, Any] = field(default_factory=dict)


class OidcServer(Service):
    """An HTTPS OAuth 2.0 token endpoint + JWKS on 127.0.0.1, on a thread of its own.

    ``token_lifetime`` (seconds) is the default lifetime of the tokens it issues; ``audience`` the
    default ``aud`` claim. ``ca_pem`` is the test CA's certificate (what clients pass as
    ``https.ca.location``), ``issuer`` the ``iss`` claim, ``token_url`` and ``jwks_url`` the endpoints.
    """

    def __init__(self, *, token_lifetime: float = 3600, audience: str = AUDIENCE) -> None:
        self.token_lifetime = token_lifetime
        self.audience = audience
        self.requests: list[OidcRequest] = []
        self.port: int | None = None
        self.workdir: Path | None = None
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._key: _RsaKey | None = None
        self.startup_seconds: float | None = None  # keys, certificates and the listening socket

    # -- configuration --------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        secret: str,
        *,
        audience: str | None = None,
        lifetime: float | None = None,
        **extra_claims: Any,
    ) -> None:
        """Registers (or replaces) a client; its tokens get ``audience``/``lifetime`` if given."""
        with self._lock:
            self._clients[client_id] = _Client(
                secret,
                self.audience if audience is None else audience,
                self.token_lifetime if lifetime is None else lifetime,
                dict(extra_claims),
            )

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("OIDC server not started")
        return f"https://localhost:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks"

    @property
    def ca_pem(self) -> str:
        assert self.workdir is not None, "OIDC server not started"
        return str(self.workdir / "ca.pem")

    def client_config(self, client_id: str, secret: str, *, scope: str = "kafka") -> dict[str, object]:
        """librdkafka properties of a SASL_PLAINTEXT/OAUTHBEARER client using this endpoint (OIDC)."""
        return {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "OAUTHBEARER",
            "sasl.oauthbearer.method": "oidc",
            "sasl.oauthbearer.client.id": client_id,
            "sasl.oauthbearer.client.secret": secret,
            "sasl.oauthbearer.token.endpoint.url": self.token_url,
            "sasl.oauthbearer.scope": scope,
            "https.ca.location": self.ca_pem,
        }

    def token_requests(self, client_id: str | None = None, *, ok: bool | None = None) -> list[OidcRequest]:
        """The ``POST /token`` requests logged so far (of one client; only 200s or only failures)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == "/token"
                and (client_id is None or r.client_id == client_id)
                and (ok is None or (r.status == 200) == ok)
            ]

    def refused_connections(self, since: float = 0.0) -> list[OidcRequest]:
        """Connections that ended without a request: a failed TLS handshake (method ``TLS``), or a
        client that closed after the handshake (``CLOSED``: curl checks the certificate then)."""
        with self._lock:
            return [r for r in self.requests if r.method in ("TLS", "CLOSED") and r.at >= since]

    # -- tokens ---------------------------------------------------------------------

    def issue(self, client_id: str, scope: str | None = None) -> tuple[str, float]:
        """A signed access token for a registered client, and its lifetime in seconds."""
        assert self._key is not None
        with self._lock:
            client = self._clients[client_id]
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key.kid}
        claims: dict[str, Any] = {
            "sub": client_id,
            "iss": self.issuer,
            "aud": client.audience,
            "iat": now,
            "nbf": now,
            "exp": now + int(client.lifetime),
            "jti": uuid.uuid4().hex,
            "client_id": client_id,
        }
        if scope:
            claims["scope"] = scope
        claims.update(client.extra_claims)
        signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = self._key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{_b64url(signature)}", client.lifetime

    def jwks(self) -> dict[str, Any]:
        assert self._key is not None
        return {"keys": [self._key.jwk()]}

    def _log(self, entry: OidcRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _authenticate(self, headers: Any, form: dict[str, str]) -> tuple[str | None, str | None, bool]:
        """(client id, how it authenticated, whether the credentials are right)."""
        client_id = secret = auth = None
        authorization = headers.get("Authorization", "")
        if authorization[:6].lower() == "basic ":
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
                user, sep, password = decoded.partition(":")
                if sep:
                    # RFC 6749 2.3.1: both are form-urlencoded before Basic encoding (most clients skip it).
                    client_id, secret, auth = unquote(user), unquote(password), "basic"
        if auth is None and "client_id" in form:
            client_id, secret, auth = form["client_id"], form.get("client_secret"), "form"
        with self._lock:
            client = self._clients.get(client_id) if client_id is not None else None
        return client_id, auth, client is not None and secret == client.secret

    # -- lifecycle ------------------------------------------------------------------

    def _started(self) -> bool:
        return self._httpd is not None

    def start(self) -> OidcServer:
        if self._started():
            raise RuntimeError("OIDC server already started")
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="ferrokafka-oidc-"))
        try:
            self._make_pki(self.workdir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.workdir / "server.pem", self.workdir / "server.key")
            self._httpd = _Server(("127.0.0.1", 0), _Handler, self, context)
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="oidc-server", daemon=True
            )
            self._thread.start()
            self.startup_seconds = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _make_pki(self, d: Path) -> None:
        """Test CA, a server certificate for localhost/127.0.0.1 signed by it, a JWT signing key."""
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ferrokafka test OIDC CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d,
        )  # fmt: skip
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=localhost", cwd=d)  # fmt: skip
        (d / "server.ext").write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        )
        _openssl(
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", f"0x{uuid.uuid4().hex}", "-days", "2", "-sha256", "-extfile", "server.ext",
            "-out", "server.pem",
            cwd=d,
        )  # fmt: skip
        self._key = _RsaKey(d / "signing.key", d)

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()  # waits for serve_forever to return
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, owner: OidcServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # TLS handshake failures are logged by the handler; nothing else is expected


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10
    server_version = "ferrokafka-test-oidc/1"

    def setup(self) -> None:
        # The TLS handshake happens here, on the request's own thread, not in the accept loop.
        self.request.settimeout(self.timeout)
        try:
            self.request = self.server.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            self.server.owner._log(OidcRequest(time.monotonic(), "TLS", "", 0, error=str(err)))
            raise
        super().setup()

    def handle(self) -> None:
        self._parsed = False
        super().handle()
        if not self._parsed:
            self.server.owner._log(OidcRequest(time.monotonic(), "CLOSED", "", 0, error="closed without a request"))

    def parse_request(self) -> bool:
        self._parsed = True
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.split("?", 1)[0] == "/jwks":
            owner._log(OidcRequest(time.monotonic(), "GET", "/jwks", 200))
            self._reply(200, owner.jwks())
        else:
            owner._log(OidcRequest(time.monotonic(), "GET", self.path, 404))
            self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if self.path.split("?", 1)[0] != "/token":
            owner._log(OidcRequest(time.monotonic(), "POST", self.path, 404))
            self._reply(404, {"error": "not_found"})
            return
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        grant_type, scope = form.get("grant_type"), form.get("scope")
        client_id, auth, ok = owner._authenticate(self.headers, form)
        entry = OidcRequest(time.monotonic(), "POST", "/token", 0, client_id, auth, grant_type, scope)
        if not ok:
            entry.status, entry.error = 401, "invalid_client"
            owner._log(entry)
            self._reply(
                401,
                {"error": "invalid_client", "error_description": "client authentication failed"},
                {"WWW-Authenticate": 'Basic realm="ferrokafka-test-oidc"'},
            )
            return
        if grant_type != "client_credentials":
            entry.status, entry.error = 400, "unsupported_grant_type"
            owner._log(entry)
            self._reply(400, {"error": "unsupported_grant_type", "error_description": f"grant_type={grant_type}"})
            return
        assert client_id is not None
        token, lifetime = owner.issue(client_id, scope)
        entry.status = 200
        owner._log(entry)
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": int(lifetime)}
        if scope:
            body["scope"] = scope
        self._reply(200, body)


def broker_kwargs(server: OidcServer, listener: str = LISTENER) -> dict[str, Any]:
    """``KafkaBroker`` keyword arguments: a SASL_PLAINTEXT listener ``listener`` whose OAUTHBEARER
    tokens Kafka's own validator checks against ``server``'s JWKS, audience and issuer.

    The broker fetches the JWKS over HTTPS trusting only the test CA (a PEM truststore given as JAAS
    options of the listener: Kafka builds the JWKS client's SSL context from them). Kafka 4.x fetches
    no OAuth URL that the system property ``org.apache.kafka.sasl.oauthbearer.allowed.urls`` does not
    list. ``connections.max.reauth.ms`` makes the broker end each session when its token expires
    unless the client re-authenticates (KIP-368): a client that never refreshed would be cut off.
    """
    prefix = f"listener.name.{listener.lower()}"
    # The broker's own login (the unsecured default: no inter-broker traffic uses this listener) needs
    # a subject; the truststore options are for the JWKS fetch.
    jaas = (
        f'{LOGIN_MODULE} required unsecuredLoginStringClaim_sub="broker" '
        f'ssl.truststore.type="PEM" ssl.truststore.location="{server.ca_pem}";'
    )
    return {
        "extra_listeners": {listener: "SASL_PLAINTEXT"},
        "extra_properties": {
            f"{prefix}.sasl.enabled.mechanisms": "OAUTHBEARER",
            f"{prefix}.oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
            f"{prefix}.oauthbearer.sasl.jaas.config": jaas,
            f"{prefix}.oauthbearer.connections.max.reauth.ms": 3_600_000,
            "sasl.oauthbearer.jwks.endpoint.url": server.jwks_url,
            "sasl.oauthbearer.expected.audience": server.audience,
            "sasl.oauthbearer.expected.issuer": server.issuer,
        },
        "jvm_args": [f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={server.jwks_url}"],
    }
