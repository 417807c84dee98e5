# The course's JupyterHub: the configuration docs/instructor.md ("One course server") documents, as it runs.
#
# Start it with `make hub` (or `python classroom/course.py start`), as root. Everything the class shares lives
# under one course folder, ADVLAB_COURSE_DIR (default /srv/advlab), which `python classroom/course.py setup`
# prepares:
#
#   env/      the class's Python environment (Debian's python3, readable by every user)
#   node/     configurable-http-proxy, from npm
#   models/   the instructor's quick-mode models: students read them, only the instructor writes them
#   lessons/  the lessons as students receive them (no solutions); each student gets a copy at first login
#   hub/      the hub's own state (root only)
#
# Students log in with their Linux account (PAM) if they belong to the group ADVLAB_CLASS_GROUP (default
# advlab-class). Each one's server runs as that user, in the class environment, in quick mode, reading the
# shared models first and writing any model it must train to ~/advlab-artifacts.
import os
import pwd
import shutil
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub defines it when it reads this file)

COURSE = Path(os.environ.get("ADVLAB_COURSE_DIR", "/srv/advlab"))
CLASS_GROUP = os.environ.get("ADVLAB_CLASS_GROUP", "advlab-class")
INSTRUCTORS = {name for name in os.environ.get("ADVLAB_INSTRUCTORS", "").split(",") if name}
PORT = int(os.environ.get("ADVLAB_HUB_PORT", "8000"))
IDLE_SERVER_S = int(os.environ.get("ADVLAB_HUB_IDLE_SERVER_S", "3600"))   # stop a student's server after 1 h idle
IDLE_KERNEL_S = int(os.environ.get("ADVLAB_HUB_IDLE_KERNEL_S", "1200"))   # stop a kernel after 20 min idle

# --- where the hub listens: only this machine unless a reverse proxy (with TLS) is put in front
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{int(os.environ.get('ADVLAB_HUB_INTERNAL_PORT', PORT + 81))}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('ADVLAB_HUB_PROXY_API_PORT', PORT + 1))}"
c.ConfigurableHTTPProxy.command = [str(COURSE / "node" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{COURSE / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(COURSE / "hub" / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(COURSE / "hub" / "proxy.pid")

# --- who may log in: Linux accounts of the class's group; instructors are admins
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {CLASS_GROUP}
c.Authenticator.admin_users = INSTRUCTORS

# --- each student's server: their own Linux user, the class environment, quick mode, the shared models first
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(COURSE / "env" / "bin" / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab/tree/advlab"
c.Spawner.environment = {
    "ADVLAB_QUICK": "1",
    # the instructor's models (read-only), then the student's own folder; no shell expands $HOME here, the
    # helpers expand the ~
    "ADVLAB_ARTIFACTS": f"{COURSE / 'models'}{os.pathsep}~/advlab-artifacts",
}
# Idle kernels free their memory (a kernel with TensorFlow holds about 1 GB); the culler service below stops
# whole servers that stay idle.
c.Spawner.args = [f"--MappingKernelManager.cull_idle_timeout={IDLE_KERNEL_S}",
                  "--MappingKernelManager.cull_interval=60", "--MappingKernelManager.cull_connected=True"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def give_lessons(spawner):
    """Before a student's server starts: copy the lessons they do not have yet into ~/advlab (never overwrite)."""
    user = pwd.getpwnam(spawner.user.name)
    folder = Path(user.pw_dir) / "advlab"
    folder.mkdir(exist_ok=True)
    os.chown(folder, user.pw_uid, user.pw_gid)
    for lesson in sorted((COURSE / "lessons").iterdir()):
        target = folder / lesson.name
        if lesson.is_file() and not target.exists():
            shutil.copyfile(lesson, target)
            os.chown(target, user.pw_uid, user.pw_gid)


c.Spawner.pre_spawn_hook = give_lessons

# --- stop servers nobody has used for a while (jupyterhub-idle-culler, a hub service)
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [str(COURSE / "env" / "bin" / "python"), "-m", "jupyterhub_idle_culler",
                f"--timeout={IDLE_SERVER_S}", "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
