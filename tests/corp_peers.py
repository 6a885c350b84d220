"""Corporate-network peers on 127.0.0.1: squid with its auth helpers, and a real MIT Kerberos KDC.

- `start_kdc()` makes a realm (database, stash, principals for a user and HTTP/localhost, a keytab
  for the proxy) and runs krb5kdc on a free port; `Kdc.kinit()` puts the user's ticket into a
  credential cache of the test's own. Everything reads the KRB5_CONFIG/KRB5_KDC_PROFILE files
  written here.
- `start_squid()` runs squid with Basic (basic_ncsa_auth), Digest (digest_file_auth), NTLM
  (ntlm_fake_auth: a real NTLM exchange that accepts any password) and/or Negotiate
  (negotiate_kerberos_auth with the KDC's keytab), in the order given (squid offers them so).

squid drops privileges to its own user, so its files live in a world-readable folder under /tmp,
removed on stop. Each returned object's `stop()` ends exactly what it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mitmrelay.testing import HOST, Certs, Process, free_port, wait_for
from peers import need

REALM = "MITMRELAY.TEST"
USER = "alice"
USER_PASSWORD = "kerberos-secret-Q7"
SQUID_LIB = Path("/usr/lib/squid")
SBIN = ("/usr/sbin", "/sbin")


def _sbin(program: str) -> str:
    for folder in SBIN:
        if (Path(folder) / program).exists():
            return str(Path(folder) / program)
    return need(program)


def _shared_dir(prefix: str) -> Path:
    """A folder squid's helpers (running as squid's user) can read and write."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o777)
    return path


@dataclass
class Kdc:
    dir: Path
    port: int
    proc: Process
    keytab: Path
    env: dict[str, str] = field(default_factory=dict)

    def kinit(self, ccache: Path, user: str = USER, password: str = USER_PASSWORD) -> None:
        """Get user's ticket into ccache (FILE:), as a user's `kinit` would."""
        subprocess.run(
            [need("kinit"), user],
            input=password + "\n",
            env={**os.environ, **self.env, "KRB5CCNAME": f"FILE:{ccache}"},
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )

    def stop(self) -> None:
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_kdc() -> Kdc:
    """A KDC for REALM on 127.0.0.1 with USER and HTTP/localhost, and a keytab for the latter."""
    folder = _shared_dir("mitmrelay-kdc-")
    port = free_port()
    krb5_conf, kdc_conf = folder / "krb5.conf", folder / "kdc.conf"
    # [realms] on several lines: the libraries do not read a one-line `{ kdc = ... }` block.
    krb5_conf.write_text(
        "[libdefaults]\n"
        f"    default_realm = {REALM}\n"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    dns_canonicalize_hostname = false\n"
        "    rdns = false\n"
        "[realms]\n"
        f"    {REALM} = {{\n"
        f"        kdc = {HOST}:{port}\n"
        "    }\n"
        "[domain_realm]\n"
        f"    localhost = {REALM}\n"
    )
    kdc_conf.write_text(
        "[kdcdefaults]\n"
        f"    kdc_ports = {port}\n"
        f"    kdc_tcp_ports = {port}\n"
        "[realms]\n"
        f"    {REALM} = {{\n"
        f"        database_name = {folder}/principal\n"
        f"        key_stash_file = {folder}/stash\n"
        f"        acl_file = {folder}/kadm5.acl\n"
        f"        kdc_ports = {port}\n"
        f"        kdc_tcp_ports = {port}\n"
        "    }\n"
        "[logging]\n"
        f"    kdc = FILE:{folder}/kdc.log\n"
    )
    (folder / "kadm5.acl").write_text("")
    env = {
        "KRB5_CONFIG": str(krb5_conf),
        "KRB5_KDC_PROFILE": str(kdc_conf),
        "KRB5RCACHETYPE": "none",  # no replay cache file for squid's user to fight over
    }
    run_env = {**os.environ, **env}

    def admin(*args: str) -> None:
        subprocess.run(args, env=run_env, capture_output=True, timeout=60, check=True)

    keytab = folder / "http.keytab"
    try:
        admin(_sbin("kdb5_util"), "create", "-s", "-r", REALM, "-P", "master-not-secret")
        local = _sbin("kadmin.local")
        admin(local, "-r", REALM, "-q", f"addprinc -pw {USER_PASSWORD} {USER}")
        admin(local, "-r", REALM, "-q", "addprinc -randkey HTTP/localhost")
        admin(local, "-r", REALM, "-q", f"ktadd -k {keytab} HTTP/localhost")
    except subprocess.CalledProcessError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"setting up the test realm failed: {e.stderr!r}") from None
    keytab.chmod(0o644)  # squid's helper runs as squid's user
    proc = Process([_sbin("krb5kdc"), "-n"], folder / "krb5kdc.out", [port], env=run_env)
    return Kdc(folder, port, proc, keytab, env)


@dataclass
class Squid:
    dir: Path
    port: int
    proc: Process
    users: dict[str, str]

    @property
    def access_log(self) -> Path:
        return self.dir / "access.log"

    def log_text(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.dir / "cache.log", self.access_log)
            if path.exists()
        )

    def stop(self) -> None:
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_squid(
    schemes: tuple[str, ...] = ("basic",),
    users: dict[str, str] | None = None,
    kdc: Kdc | None = None,
) -> Squid:
    """squid asking for the given schemes (basic, digest, ntlm, negotiate), offered in that order;
    none at all: squid lets every client through.

    users are the Basic and Digest accounts; NTLM accepts any password (ntlm_fake_auth);
    Negotiate needs kdc (its keytab validates the clients' tickets).
    """
    users = users or {"bob": "basic-secret-9x"}
    folder = _shared_dir("mitmrelay-squid-")
    port = free_port()
    lines = [
        f"http_port {HOST}:{port}",
        f"pid_filename {folder}/squid.pid",
        f"cache_log {folder}/cache.log",
        f"access_log stdio:{folder}/access.log",
        "cache deny all",
        "cache_mem 8 MB",
        f"coredump_dir {folder}",
        "netdb_filename none",
        "visible_hostname squid.test",
        "shutdown_lifetime 0 seconds",
        "logfile_rotate 0",
    ]
    for scheme in schemes:
        if scheme == "basic":
            passwd = folder / "basic.passwd"
            passwd.write_text("".join(f"{u}:{_md5_crypt(p)}\n" for u, p in users.items()))
            lines += [
                f"auth_param basic program {SQUID_LIB}/basic_ncsa_auth {passwd}",
                "auth_param basic realm mitmrelay-basic",
            ]
        elif scheme == "digest":
            passwd = folder / "digest.passwd"
            passwd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            lines += [
                f"auth_param digest program {SQUID_LIB}/digest_file_auth {passwd}",
                "auth_param digest realm mitmrelay-digest",
                "auth_param digest children 2",
            ]
        elif scheme == "ntlm":
            lines += [
                f"auth_param ntlm program {SQUID_LIB}/ntlm_fake_auth",
                "auth_param ntlm children 2",
            ]
        elif scheme == "negotiate":
            if kdc is None:
                raise ValueError("squid's negotiate auth needs a KDC: pass kdc=start_kdc()")
            lines += [
                f"auth_param negotiate program {SQUID_LIB}/negotiate_kerberos_auth "
                f"-k {kdc.keytab} -s HTTP/localhost@{REALM}",
                "auth_param negotiate children 2",
                "auth_param negotiate keep_alive on",
            ]
        else:
            raise ValueError(f"unknown squid auth scheme {scheme!r}")
    if schemes:
        lines += [
            "acl authenticated proxy_auth REQUIRED",
            "http_access deny !authenticated",
            "http_access allow authenticated",
        ]
    else:
        lines.append("http_access allow all")  # no schemes: an open proxy (on HOST only)
    lines.append("http_access deny all")
    conf = folder / "squid.conf"
    conf.write_text("\n".join(lines) + "\n")
    env = {**os.environ, **(kdc.env if kdc else {})}
    if kdc:
        env["KRB5_KTNAME"] = str(kdc.keytab)
    try:
        proc = Process(
            [_sbin("squid"), "-N", "-f", str(conf)], folder / "squid.out", [port], env=env
        )
    except RuntimeError as e:
        cache_log = folder / "cache.log"
        detail = cache_log.read_text(errors="replace") if cache_log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"{e}\n{detail}") from None
    return Squid(folder, port, proc, users)


def _md5_crypt(password: str) -> str:
    """An htpasswd-style MD5-crypt hash, which basic_ncsa_auth reads."""
    out = subprocess.run(
        ["openssl", "passwd", "-1", password], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def tunnel_user(squid: Squid, port: int, timeout: float = 10.0) -> str:
    """The user squid logged for the last tunnel it opened to port `port`.

    ntlm_fake_auth reads the NTLM names as 8-bit text: of UTF-16 names (pyspnego's) it keeps what
    comes before the first zero byte, so `CORP\\carol` is logged as `C\\\\c` (squid doubles the
    backslash).
    """

    def find() -> str | None:
        users = [
            fields[7]
            for line in squid.access_log.read_text().splitlines()
            if (fields := line.split())
            and len(fields) > 7
            and fields[3] == "TCP_TUNNEL/200"
            and fields[6].endswith(f":{port}")
        ]
        return users[-1] if users else None

    return wait_for(find, timeout, f"a tunnel to port {port} in squid's access log")


def wait_squid_log(squid: Squid, text: str, timeout: float = 10.0) -> None:
    wait_for(lambda: text in squid.log_text(), timeout, f"{text!r} in squid's logs")


def tls_front(proxy: Squid | Process, certs: Certs, log: Path) -> Process:
    """An `https://` proxy: the real socat terminating TLS (certs' localhost certificate) in front
    of an HTTP proxy (squid, tinyproxy), one proxy connection per client connection, so
    connection-bound NTLM and Negotiate exchanges run over TLS as they would to a TLS-speaking
    proxy. (Debian's squid has no TLS.)"""
    port = free_port()
    listen = (
        f"OPENSSL-LISTEN:{port},bind={HOST},reuseaddr,fork,"
        f"cert={certs.cert},key={certs.key},verify=0"
    )
    return Process([need("socat"), listen, f"TCP:{HOST}:{proxy.port}"], log, [port])
