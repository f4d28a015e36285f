"""A real Keystone (30.0.0, from ``.venv-keystone``) for tests that need one.

Importable from any test directory (it needs only the standard library and
``requests``; no pytest)::

    ks = Keystone(state_dir, port=free_port(), baremetal_url="http://127.0.0.1:6385")
    ks.start()                 # first start: keystone.conf, keystone-manage, users
    token, body = ks.token("p-member")
    ks.stop(); ks.start()      # "identity service down mid-run": same state, same port
    short = ks.sibling(expiration=5).start()   # tokens that expire after 5 s
    ks.clouds_yaml(path)       # one cloud per persona, for OS_CLOUD

``ensure_venv()`` builds ``.venv-keystone`` from ``requirements.txt`` when its sha256
differs from the one kept in the venv (``.requirements.sha256``), and raises
``KeystoneUnavailable`` when that has to happen and PyPI cannot be reached: callers
turn that into a skip.

What it serves, in domain ``Default``, region ``RegionOne`` (password of user ``u``:
``password(u)``, i.e. ``sanlink-u``):

* ``keystone-manage bootstrap``: user ``admin`` (admin on project ``admin`` and on
  the system), the roles ``reader`` < ``member`` < ``manager`` < ``admin`` (each
  implies the next lower one; a token lists the implied roles too) and ``service``
  (implies nothing), the ``identity`` service;
* project ``service``: users ``ironic`` and ``nova``, role ``service`` only. That is
  all a service user needs to validate tokens: Keystone's ``identity:validate_token``
  allows ``rule:service_role``. (devstack also gives service users ``admin``, which
  would make them project admins everywhere; not here);
* project ``tenant``: ``p-admin`` (admin), ``p-member`` (member), ``p-reader``
  (reader), ``p-none`` (``observer``, a role made here that implies nothing);
* on the system (``system: all``): ``s-admin``, ``s-member``, ``s-reader``;
* service ``baremetal`` (name ``ironic``): public, internal and admin endpoints at
  ``baremetal_url`` (``set_baremetal_url`` moves them).

Settings out of the ordinary, in ``keystone.conf``:

* ``[cache] backend = dogpile.cache.memory``: without a cache, validating a token
  costs some 650 SQL queries, 0.85 s on SQLite; with the in-process cache, about 5 ms.
  Hence also one gunicorn worker (with threads): a second worker would have a cache
  of its own, and a token revoked through one would stay valid in the other;
* ``[identity] password_hash_rounds = 4``: bcrypt's default of 12 costs about 0.25 s
  per password authentication;
* ``[oslo_policy] enforce_new_defaults = enforce_scope = true``: Keystone's own
  secure-RBAC policy, the one a current deployment runs;
* gunicorn runs with ``--no-control-socket``: by default every gunicorn shares the
  control socket ``~/.gunicorn/gunicorn.ctl``, and a second instance (the sibling, or
  another test run) collides with the first. ``keystone_wsgi.py`` hides gunicorn's
  arguments from oslo.config.

A sibling (``sibling()``) is a second Keystone on its own port that shares the
database and the fernet and credential keys, with another ``[token] expiration``. A
fernet token carries its expiry, so a token the sibling issued with
``expiration = 5`` validates everywhere until, 5 s later, it validates nowhere.
Revocations do not cross between the two before their caches expire: revoke through
the instance that validates.
"""

import grp
import hashlib
import json
import os
import pwd
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = Path(os.environ.get("KEYSTONE_VENV", REPO / ".venv-keystone"))
REQUIREMENTS = HERE / "requirements.txt"
STARTUP_TIMEOUT = 120.0

DOMAIN = "Default"
REGION = "RegionOne"
SYSTEM = None  # the scope of system personas, in PERSONAS
# persona (user name) -> (project, or SYSTEM for system scope "all"; role)
PERSONAS = {
    "s-admin": (SYSTEM, "admin"),
    "s-member": (SYSTEM, "member"),
    "s-reader": (SYSTEM, "reader"),
    "p-admin": ("tenant", "admin"),
    "p-member": ("tenant", "member"),
    "p-reader": ("tenant", "reader"),
    "p-none": ("tenant", "observer"),
    "nova": ("service", "service"),
    "ironic": ("service", "service"),
}
CUSTOM_ROLES = ("observer",)


class KeystoneUnavailable(Exception):
    """Keystone cannot be installed here (no PyPI and no venv): a reason to skip."""


def password(user):
    return f"sanlink-{user}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_venv(venv=VENV, log=lambda msg: print(msg, file=sys.stderr)):
    """Creates or updates the Keystone venv when requirements.txt changed."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = Path(venv) / ".requirements.sha256"
    have = stamp.read_text().strip() if stamp.exists() else None
    if have == want and (Path(venv) / "bin" / "gunicorn").exists():
        return Path(venv)
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    try:
        urllib.request.urlopen(f"{index}/keystone/", timeout=20).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot install"
        raise KeystoneUnavailable(
            f"PyPI ({index}) is unreachable ({exc}) and {venv} has no Keystone") from exc
    log(f"installing Keystone into {venv} (takes about 20 s)")
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        subprocess.run([os.environ.get("PYTHON", "python3"), "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(want + "\n")
    return Path(venv)


CONF = """[DEFAULT]
log_file = {state}/{name}.log
debug = false

[database]
connection = sqlite:///{shared}/keystone.sqlite

[token]
provider = fernet
expiration = {expiration}

[fernet_tokens]
key_repository = {shared}/fernet-keys
[fernet_receipts]
key_repository = {shared}/fernet-keys
[credential]
key_repository = {shared}/credential-keys

[identity]
password_hash_rounds = 4

[cache]
enabled = true
backend = dogpile.cache.memory

[oslo_policy]
enforce_new_defaults = true
enforce_scope = true
"""


class Keystone:
    """One Keystone server: state in ``state_dir``, HTTP on 127.0.0.1:``port``."""

    def __init__(self, state_dir, port=None, baremetal_url="http://127.0.0.1:6385",
                 expiration=3600, venv=VENV, _shared=None, name="keystone", populate=True):
        self.state = Path(state_dir)
        self.state.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = self.url + "/v3"
        self.baremetal_url = baremetal_url
        self.expiration = expiration
        self.venv = Path(venv)
        self.name = name
        # Where the database and the keys live: ours, or the main instance's.
        self.shared = Path(_shared) if _shared else self.state
        self.conf = self.state / f"{name}.conf"
        self.log = self.state / f"{name}.log"
        self.proc = None
        # False: only what keystone-manage bootstrap makes (a cloud before sanlink).
        self.populate = populate
        self.timings = {}  # step -> seconds
        self._admin_token = None

    # -- life cycle ---------------------------------------------------------

    def start(self):
        """Sets up the state on the first call, serves, waits; returns self."""
        if not (self.venv / "bin" / "gunicorn").exists():
            raise KeystoneUnavailable(f"{self.venv} has no Keystone: call ensure_venv() first")
        if not self.conf.exists():
            self.conf.write_text(CONF.format(state=self.state, shared=self.shared, name=self.name,
                                             expiration=self.expiration))
        if self.shared == self.state and not (self.state / "bootstrapped").exists():
            self._manage()
            (self.state / "bootstrapped").touch()
        t0 = time.monotonic()
        with open(self.state / f"{self.name}-gunicorn.log", "ab") as out:
            self.proc = subprocess.Popen(
                [str(self.venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--threads", "8", "--timeout", "120",
                 "--graceful-timeout", "5", "--no-control-socket",
                 "--pythonpath", str(HERE), "keystone_wsgi:application"],
                env={**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.conf)},
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.state,
            )
        self._wait()
        self.timings["serve"] = time.monotonic() - t0
        if self.populate and self.shared == self.state and not (self.state / "populated").exists():
            t0 = time.monotonic()
            self._populate()
            self.timings["populate"] = time.monotonic() - t0
            (self.state / "populated").touch()
        return self

    def stop(self):
        """Stops the server (our own process only); start() brings it back."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._admin_token = None

    def sibling(self, expiration=5, port=None):
        """A second Keystone on the same database and keys, another token lifetime."""
        return Keystone(self.state / f"sibling-{expiration}", port=port, expiration=expiration,
                        venv=self.venv, _shared=self.shared, name=f"keystone-exp{expiration}",
                        baremetal_url=self.baremetal_url)

    def _manage(self):
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        km = [str(self.venv / "bin" / "keystone-manage"), "--config-file", str(self.conf)]
        steps = {
            "db_sync": ["db_sync"],
            "fernet_setup": ["fernet_setup", "--keystone-user", user, "--keystone-group", group],
            "credential_setup": ["credential_setup", "--keystone-user", user,
                                 "--keystone-group", group],
            "bootstrap": ["bootstrap", "--bootstrap-password", password("admin"),
                          "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                          "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                          "--bootstrap-region-id", REGION,
                          "--bootstrap-admin-url", self.auth_url,
                          "--bootstrap-internal-url", self.auth_url,
                          "--bootstrap-public-url", self.auth_url],
        }
        # The key repositories do not touch the database: set up alongside db_sync.
        with open(self.state / "keystone-manage.log", "ab") as out:
            for batch in (("db_sync", "fernet_setup", "credential_setup"), ("bootstrap",)):
                t0 = time.monotonic()
                procs = {step: subprocess.Popen([*km, *steps[step]], stdout=out,
                                                stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, cwd=self.state)
                         for step in batch}
                for step, proc in procs.items():
                    if proc.wait() != 0:
                        raise RuntimeError(f"keystone-manage {step} failed; see "
                                           f"{self.state / 'keystone-manage.log'} and {self.log}")
                self.timings["+".join(batch)] = time.monotonic() - t0

    def _wait(self):
        import requests

        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.auth_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Keystone did not answer on {self.auth_url}; see "
                           f"{self.state / (self.name + '-gunicorn.log')} and {self.log}")

    # -- tokens -------------------------------------------------------------

    def token(self, persona):
        """A new token for a persona: (token, the token's body from Keystone)."""
        project, _role = PERSONAS[persona] if persona in PERSONAS else ("admin", "admin")
        return self.issue(persona, project)

    def issue(self, user, project=SYSTEM):
        """A password token of ``user``, scoped to ``project`` or to the system."""
        import requests

        scope = ({"system": {"all": True}} if project is SYSTEM
                 else {"project": {"name": project, "domain": {"name": DOMAIN}}})
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": DOMAIN}, "password": password(user)}}},
            "scope": scope,
        }}
        r = requests.post(self.auth_url + "/auth/tokens", json=body, timeout=30)
        if r.status_code != 201:
            raise RuntimeError(f"token for {user}: HTTP {r.status_code} {r.text}")
        return r.headers["X-Subject-Token"], r.json()["token"]

    def revoke(self, token):
        r = self._call("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})
        if r.status_code != 204:
            raise RuntimeError(f"revoke: HTTP {r.status_code} {r.text}")

    def validate(self, token):
        """Keystone's own answer for a token: the HTTP status of GET /v3/auth/tokens."""
        return self._call("GET", "/auth/tokens", headers={"X-Subject-Token": token}).status_code

    # -- the admin API, as the bootstrap admin on the system ------------------

    def _call(self, method, path, body=None, headers=None):
        import requests

        if self._admin_token is None:
            self._admin_token = self.issue("admin", SYSTEM)[0]
        h = {"X-Auth-Token": self._admin_token, **(headers or {})}
        return requests.request(method, self.auth_url + path, json=body, headers=h, timeout=30)

    def _find(self, kind, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        r = self._call("GET", f"/{kind}?{q}")
        r.raise_for_status()
        found = r.json()[kind]
        return found[0]["id"] if found else None

    def _ensure(self, kind, singular, body, **query):
        ident = self._find(kind, **query)
        if ident:
            return ident
        r = self._call("POST", f"/{kind}", {singular: body})
        if r.status_code != 201:
            raise RuntimeError(f"create {singular} {body}: HTTP {r.status_code} {r.text}")
        return r.json()[singular]["id"]

    def _grant(self, path):
        r = self._call("PUT", path)
        if r.status_code not in (200, 204):
            raise RuntimeError(f"PUT {path}: HTTP {r.status_code} {r.text}")

    def _populate(self):
        domain = self._find("domains", name=DOMAIN)
        for role in CUSTOM_ROLES:
            self._ensure("roles", "role", {"name": role}, name=role)
        projects = {
            name: self._ensure("projects", "project",
                               {"name": name, "domain_id": domain, "description": f"{name} (tests)"},
                               name=name, domain_id=domain)
            for name in ("service", "tenant")
        }
        roles = {r["name"]: r["id"] for r in self._call("GET", "/roles").json()["roles"]}
        self.ids = {"projects": projects, "roles": roles, "users": {}}
        for user, (project, role) in PERSONAS.items():
            body = {"name": user, "domain_id": domain, "password": password(user)}
            if project is not SYSTEM:
                body["default_project_id"] = projects[project]
            uid = self._ensure("users", "user", body, name=user, domain_id=domain)
            self.ids["users"][user] = uid
            if project is SYSTEM:
                self._grant(f"/system/users/{uid}/roles/{roles[role]}")
            else:
                self._grant(f"/projects/{projects[project]}/users/{uid}/roles/{roles[role]}")
        self._ensure("services", "service",
                     {"name": "ironic", "type": "baremetal", "description": "Bare Metal"},
                     type="baremetal")
        self.set_baremetal_url(self.baremetal_url)
        (self.state / "ids.json").write_text(json.dumps(self.ids, indent=1))

    def project_id(self, name):
        return json.loads((self.shared / "ids.json").read_text())["projects"][name]

    def set_baremetal_url(self, url):
        """Points the baremetal service's three endpoints at ``url``."""
        self.baremetal_url = url
        service = self._find("services", type="baremetal")
        have = {e["interface"]: e for e in
                self._call("GET", f"/endpoints?service_id={service}").json()["endpoints"]}
        for iface in ("public", "internal", "admin"):
            if iface in have:
                if have[iface]["url"] != url:
                    r = self._call("PATCH", f"/endpoints/{have[iface]['id']}", {"endpoint": {"url": url}})
                    r.raise_for_status()
            else:
                r = self._call("POST", "/endpoints", {"endpoint": {
                    "service_id": service, "interface": iface, "url": url, "region_id": REGION}})
                if r.status_code != 201:
                    raise RuntimeError(f"create endpoint: HTTP {r.status_code} {r.text}")

    def clouds_yaml(self, path, baremetal_url=None):
        """Writes a clouds.yaml with one cloud per persona (``OS_CLOUD=p-member``).

        Password authentication; the baremetal endpoint comes from the catalog, moved
        to ``baremetal_url`` first when one is given. (JSON is YAML.)
        """
        if baremetal_url:
            self.set_baremetal_url(baremetal_url)
        clouds = {}
        for user, (project, _role) in PERSONAS.items():
            auth = {"auth_url": self.auth_url, "username": user, "password": password(user),
                    "user_domain_name": DOMAIN}
            if project is SYSTEM:
                auth["system_scope"] = "all"
            else:
                auth.update(project_name=project, project_domain_name=DOMAIN)
            clouds[user] = {"auth_type": "password", "auth": auth, "region_name": REGION,
                            "interface": "public", "identity_api_version": 3}
        Path(path).write_text(json.dumps({"clouds": clouds}, indent=2) + "\n")
        return Path(path)


def main(argv):
    """``ensure-venv``: exit 0 when the venv is ready, 3 (and a reason) when it cannot be.
    ``serve STATE [BAREMETAL_URL]``: a Keystone for trying things by hand, until Ctrl-C."""
    if argv[:1] == ["ensure-venv"]:
        try:
            ensure_venv()
        except KeystoneUnavailable as exc:
            print(exc)
            return 3
        return 0
    if argv[:1] == ["serve"] and len(argv) >= 2:
        ensure_venv()
        ks = Keystone(argv[1], port=int(os.environ.get("KS_PORT", 0)) or None,
                      **({"baremetal_url": argv[2]} if len(argv) > 2 else {}))
        t0 = time.monotonic()
        ks.start()
        print(f"Keystone at {ks.auth_url} in {time.monotonic() - t0:.1f}s {ks.timings}; "
              f"clouds: {ks.clouds_yaml(ks.state / 'clouds.yaml')}", flush=True)
        try:
            ks.proc.wait()
        except KeyboardInterrupt:
            ks.stop()
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
