"""TLS material and listeners for a secure test broker: a CA made at start-up, never committed.

Stdlib only, plus the `openssl` command line.  Usage::

    from realkafka.security import SecureBroker

    secure = SecureBroker.start()              # BrokerUnavailable with a reason
    secure.address("SASL_SSL")                 # "localhost:<port>"; "PLAINTEXT": "127.0.0.1:<port>"
    secure.tls.ca_cert                         # Path of the test CA (PEM)
    secure.stop()                              # the broker, then the certificates' temp dir

or, with a directory of your own::

    material = make_material(Path(tmpdir))
    with KafkaBroker(**secure_broker_kwargs(material)) as broker:
        broker.listener_address("SASL_SSL")

What `make_material` writes into the directory it is given:

- a test CA (`ca_cert`), and a second CA nobody trusts (`other_ca_cert`);
- the broker's certificate, signed by the test CA, whose only name is ``DNS:localhost``: a client
  that connects to ``127.0.0.1`` with hostname verification on sees a mismatch. The broker reads it
  from a PKCS12 keystore; its truststore is the test CA as PEM (``ssl.truststore.type=PEM``);
- a client certificate for mTLS (CN=alice, signed by the test CA) as PEM (certificate + key), with
  an encrypted PKCS#8 key (``client_key_password``), and as PKCS12 (``client_p12_password``);
- a client certificate signed by the untrusted CA (`rogue_client_cert`/`rogue_client_key`).

The broker's listeners (`secure_broker_kwargs`), beside the harness's PLAINTEXT one (inter-broker,
readiness probe):

| listener | protocol | authentication |
| --- | --- | --- |
| SSL | SSL | server certificate only |
| MTLS | SSL | ``ssl.client.auth=required``: the client's certificate, signed by the test CA |
| SASL_SSL | SASL_SSL | SCRAM-SHA-256, SCRAM-SHA-512, PLAIN, OAUTHBEARER (unsecured JWT) |
| SASL_PLAINTEXT | SASL_PLAINTEXT | the same mechanisms, without TLS |

The broker authorizes with KRaft's StandardAuthorizer: PLAINTEXT clients (ANONYMOUS) are super
users, and a resource without ACLs is open to everyone (``allow.everyone.if.no.acl.found``).

SCRAM users are created when the storage is formatted (``--add-scram``); PLAIN users are listed in
the listener's JAAS config; OAUTHBEARER accepts librdkafka's unsecured JWTs (``alg: none``) through
Kafka's default server callback (OAuthBearerUnsecuredValidatorCallbackHandler).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from realkafka.harness import BrokerUnavailable, KafkaBroker

__all__ = [
    "USERS",
    "SCRAM_MECHANISMS",
    "SASL_MECHANISMS",
    "SecureBroker",
    "TlsMaterial",
    "make_material",
    "secure_broker_kwargs",
]

# user -> password, for every SASL mechanism (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN).
USERS: dict[str, str] = {"alice": "alice-secret", "bob": "bob-secret"}
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SASL_MECHANISMS = (*SCRAM_MECHANISMS, "PLAIN", "OAUTHBEARER")

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the files `make_material` wrote, and their passwords."""

    dir: Path
    ca_cert: Path  # the test CA (PEM): what clients put in ssl.ca.location
    other_ca_cert: Path  # a CA that signed nothing of the broker's
    broker_keystore: Path  # PKCS12: the broker's key and certificate (SAN DNS:localhost only)
    broker_keystore_password: str
    client_cert: Path  # PEM, CN=alice, signed by the test CA
    client_key: Path  # PEM, unencrypted PKCS#8
    client_key_encrypted: Path  # PEM, PKCS#8 encrypted with client_key_password
    client_key_password: str
    client_p12: Path  # PKCS12: client key + certificate, with client_p12_password
    client_p12_password: str
    rogue_client_cert: Path  # signed by the other CA: the broker must refuse it
    rogue_client_key: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    proc = subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed (exit {proc.returncode}):\n{proc.stdout}")


def _new_key(path: Path, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path, cwd=cwd)


def _ca(name: str, cwd: Path) -> tuple[Path, Path]:
    key, cert = cwd / f"{name}.key", cwd / f"{name}.pem"
    _new_key(key, cwd)
    _openssl(
        "req", "-config", "openssl.cnf", "-x509", "-new", "-key", key, "-subj", f"/CN={name}",
        "-extensions", "ca_ext", "-days", "3", "-out", cert, cwd=cwd,
    )  # fmt: skip
    return key, cert


def _leaf(name: str, cn: str, ext: str, ca: tuple[Path, Path], cwd: Path) -> tuple[Path, Path]:
    ca_key, ca_cert = ca
    key, csr, cert = cwd / f"{name}.key", cwd / f"{name}.csr", cwd / f"{name}.pem"
    _new_key(key, cwd)
    _openssl("req", "-config", "openssl.cnf", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr, cwd=cwd)
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial", str(secrets.randbits(62) + 1),
        "-days", "2", "-extfile", "openssl.cnf", "-extensions", ext, "-out", cert, cwd=cwd,
    )  # fmt: skip
    csr.unlink()
    return key, cert


def make_material(directory: Path) -> TlsMaterial:
    """Writes a test CA, the broker's and the clients' certificates into `directory` (~1 s)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "openssl.cnf").write_text(_OPENSSL_CNF)
    ca = _ca("ferrokafka-test-ca", d)
    other_ca = _ca("ferrokafka-untrusted-ca", d)
    broker_key, broker_cert = _leaf("broker", "localhost", "server_ext", ca, d)
    client_key, client_cert = _leaf("client", "alice", "client_ext", ca, d)
    rogue_key, rogue_cert = _leaf("rogue-client", "mallory", "client_ext", other_ca, d)
    material = TlsMaterial(
        dir=d,
        ca_cert=ca[1],
        other_ca_cert=other_ca[1],
        broker_keystore=d / "broker.p12",
        broker_keystore_password="broker-store-secret",
        client_cert=client_cert,
        client_key=client_key,
        client_key_encrypted=d / "client-encrypted.key",
        client_key_password="client-key-secret",
        client_p12=d / "client.p12",
        client_p12_password="client-p12-secret",
        rogue_client_cert=rogue_cert,
        rogue_client_key=rogue_key,
    )
    _openssl(
        "pkcs12", "-export", "-in", broker_cert, "-inkey", broker_key, "-certfile", ca[1], "-name", "broker",
        "-passout", f"pass:{material.broker_keystore_password}", "-out", material.broker_keystore, cwd=d,
    )  # fmt: skip
    _openssl(
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", client_key,
        "-passout", f"pass:{material.client_key_password}", "-out", material.client_key_encrypted, cwd=d,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", client_cert, "-inkey", client_key, "-certfile", ca[1], "-name", "alice",
        "-passout", f"pass:{material.client_p12_password}", "-out", material.client_p12, cwd=d,
    )  # fmt: skip
    return material


def _jaas(module: str, **options: str) -> str:
    opts = "".join(f' {k}="{v}"' for k, v in options.items())
    return f"org.apache.kafka.common.security.{module} required{opts};"


def secure_broker_kwargs(material: TlsMaterial) -> dict[str, object]:
    """`KafkaBroker(**kwargs)` for a broker with the listeners of the module docstring."""
    props: dict[str, object] = {
        # every SSL-based listener: the broker's certificate and the CA it trusts for client certificates
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": material.broker_keystore,
        "ssl.keystore.password": material.broker_keystore_password,
        "ssl.key.password": material.broker_keystore_password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": material.ca_cert,
        "ssl.client.auth": "none",
        "listener.name.mtls.ssl.client.auth": "required",
        # `sasl.mechanism.inter.broker.protocol` stays unused: brokers talk over PLAINTEXT
        # ACLs (tests/test_admin_parity.py): KRaft's authorizer. Clients of the PLAINTEXT listener
        # (the controller, the harness, admin tests) are ANONYMOUS, a super user; resources without
        # ACLs stay open to everyone, so only what a test puts ACLs on is restricted.
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "true",
    }
    plain_users = {f"user_{name}": password for name, password in USERS.items()}
    for listener in ("sasl_ssl", "sasl_plaintext"):
        props[f"listener.name.{listener}.sasl.enabled.mechanisms"] = ",".join(SASL_MECHANISMS)
        for mech in SCRAM_MECHANISMS:
            props[f"listener.name.{listener}.{mech.lower()}.sasl.jaas.config"] = _jaas("scram.ScramLoginModule")
        props[f"listener.name.{listener}.plain.sasl.jaas.config"] = _jaas("plain.PlainLoginModule", **plain_users)
        # no sasl.server.callback.handler.class: Kafka's unsecured JWT validator (alg "none")
        props[f"listener.name.{listener}.oauthbearer.sasl.jaas.config"] = _jaas(
            "oauthbearer.OAuthBearerLoginModule", unsecuredLoginStringClaim_sub="broker"
        )
    format_args: list[str] = []
    for mech in SCRAM_MECHANISMS:
        for name, password in USERS.items():
            format_args += ["--add-scram", f"{mech}=[name={name},password={password}]"]
    return {
        "extra_listeners": {"SSL": "SSL", "MTLS": "SSL", "SASL_SSL": "SASL_SSL", "SASL_PLAINTEXT": "SASL_PLAINTEXT"},
        "extra_properties": props,
        "format_args": format_args,
    }


@dataclass
class SecureBroker:
    """A running broker with the secure listeners, its TLS material (in a temp dir of its own) and
    its SASL users."""

    broker: KafkaBroker
    tls: TlsMaterial
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))

    @classmethod
    def start(cls, startup_timeout: float = 90.0) -> SecureBroker:
        """Makes the certificates and starts the broker; raises BrokerUnavailable with a reason."""
        if shutil.which("openssl") is None:
            raise BrokerUnavailable("`openssl` not found on PATH (needed to make the test certificates)")
        directory = Path(tempfile.mkdtemp(prefix="ferrokafka-tls-"))
        try:
            tls = make_material(directory)
            broker = KafkaBroker(startup_timeout=startup_timeout, **secure_broker_kwargs(tls))  # type: ignore[arg-type]
            broker.start()
        except RuntimeError as err:  # openssl failed
            shutil.rmtree(directory, ignore_errors=True)
            raise BrokerUnavailable(str(err)) from None
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(broker, tls)

    def address(self, listener: str) -> str:
        """`host:port` of a listener: "PLAINTEXT" (127.0.0.1), or SSL, MTLS, SASL_SSL, SASL_PLAINTEXT
        (localhost, the name in the broker's certificate)."""
        if listener == "PLAINTEXT":
            return self.broker.bootstrap_servers
        return self.broker.listener_address(listener)

    @property
    def addresses(self) -> dict[str, str]:
        return {name: self.address(name) for name in ("PLAINTEXT", *self.broker.listener_ports)}

    def stop(self) -> None:
        try:
            self.broker.stop()
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.tls.dir)
