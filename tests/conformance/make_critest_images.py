#!/usr/bin/python3
"""Builds stand-ins for every image critest (cri-tools v1.26.1) pulls, and pushes them to a
local registry under the repository paths critest names, so a registries.conf that mirrors
registry.k8s.io, gcr.io, docker.io and quay.io to that registry serves them.

  make_critest_images.py --registry 127.0.0.1:PORT --pause /path/to/pause \
                         --busybox /path/to/busybox [--cc gcc]

Reuses the deterministic layer and push code of tests/fixtures/make_test_images.py. The
images are made from Debian's dynamic busybox (the `busybox` package's binary, unpacked by
scripts/install-deps.sh) with every applet linked, its shared libraries, and what it lacks,
copied from the host with their libraries: `pgrep` and `ipcs`. Not busybox-static: its shell
runs applets in-process, while the MaskedPaths spec needs `sh -c ls` to execute /bin/ls and
fail with busybox ash's own message ("/bin/sh: ls: Permission denied"); dash would execute it
but words the error differently ("/bin/sh: 1: ls: ..."). nginx and nonewprivs are small static
programs in standins/, compiled here. stdout: "repository:tag" -> manifest digest, as JSON.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import make_test_images as fx  # noqa: E402

E2E = "e2e-test-images"
STAGING = "k8s-staging-cri-tools"

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "www-data:x:33:33:www-data:/var/www:/bin/false\n"
          "nobody:x:65534:65534:nobody:/home:/bin/false\n")
GROUP = ("root:x:0:\n"
         "daemon:x:1:\n"
         "www-data:x:33:\n"
         "nogroup:x:65534:\n")
# Host programs that busybox lacks, with their image paths.
HOST_PROGRAMS = {"/usr/bin/pgrep": "bin/pgrep", "/usr/bin/ipcs": "bin/ipcs"}


def log(msg):
    print(f"make_critest_images: {msg}", file=sys.stderr, flush=True)


def busybox_applets(busybox):
    out = subprocess.run([busybox, "--list"], check=True, stdout=subprocess.PIPE).stdout
    return sorted(set(out.decode().split()) - {"busybox"})


def shared_libraries(program):
    """Absolute paths of the shared libraries `program` loads, the loader included (ldd)."""
    out = subprocess.run(["ldd", program], check=True, stdout=subprocess.PIPE).stdout.decode()
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) > parts.index("=>") + 1:
            path = parts[parts.index("=>") + 1]
        elif parts and parts[0].startswith("/"):
            path = parts[0]
        else:
            continue  # linux-vdso
        if path.startswith("/"):
            libs.append(path)
    return libs


class Tree:
    """Files of one layer, keyed by path; directories are added for every parent."""

    def __init__(self):
        self.dirs = {}
        self.files = {}  # path -> (bytes, mode) or ("symlink", target)

    def add_dir(self, path, mode=0o755):
        path = path.strip("/")
        parent = os.path.dirname(path)
        if parent:
            self.add_dir(parent)
        self.dirs.setdefault(path, mode)

    def add_file(self, path, data, mode=0o644):
        path = path.strip("/")
        self.add_dir(os.path.dirname(path))
        self.files[path] = (data.encode() if isinstance(data, str) else data, mode)

    def add_symlink(self, path, target):
        path = path.strip("/")
        self.add_dir(os.path.dirname(path))
        self.files[path] = ("symlink", target)

    def add_hardlink(self, path, target):
        path = path.strip("/")
        self.add_dir(os.path.dirname(path))
        self.files[path] = ("hardlink", target.strip("/"))

    def add_host_file(self, host_path, path, mode=None):
        with open(os.path.realpath(host_path), "rb") as f:
            data = f.read()
        self.add_file(path, data, mode if mode is not None else os.stat(host_path).st_mode & 0o7777)

    def layer(self, comment):
        layer = fx.Layer(comment)
        for path in sorted(self.dirs):
            layer.dir(path, mode=self.dirs[path])
        # Regular files first: a hard link must follow its target in the tar.
        links = []
        for path in sorted(self.files):
            value = self.files[path]
            if value[0] in ("symlink", "hardlink"):
                links.append((path, value))
            else:
                layer.file(path, value[0], mode=value[1])
        for path, (kind, target) in links:
            if kind == "symlink":
                layer.symlink(path, target)
            else:
                layer.hardlink(path, target)
        return layer


def base_tree(busybox, passwd=PASSWD, group=GROUP):
    tree = Tree()
    tree.add_host_file(busybox, "bin/busybox", 0o755)
    for lib in shared_libraries(busybox):
        tree.add_host_file(lib, lib, 0o755)
    # Hard links, as in the real busybox image: masking one applet (MaskedPaths: /bin/ls) must
    # not mask the binary every other applet is.
    for applet in busybox_applets(busybox):
        tree.add_hardlink(f"bin/{applet}", "bin/busybox")
    for host, path in HOST_PROGRAMS.items():
        tree.add_host_file(host, path, 0o755)
        for lib in shared_libraries(host):
            tree.add_host_file(lib, lib, 0o755)
    tree.add_file("etc/passwd", passwd)
    tree.add_file("etc/group", group)
    tree.add_dir("root", 0o700)
    tree.add_dir("tmp", 0o1777)
    tree.add_dir("var/run")
    tree.add_dir("home")
    return tree


def config(cmd=None, entrypoint=None, user=None, workdir=None, labels=None):
    cfg = {"Env": [fx.PATH_ENV]}
    if entrypoint:
        cfg["Entrypoint"] = entrypoint
    if cmd:
        cfg["Cmd"] = cmd
    if user:
        cfg["User"] = user
    if workdir:
        cfg["WorkingDir"] = workdir
    if labels:
        cfg["Labels"] = labels
    return cfg


def compile_static(cc, source, out_dir):
    out = os.path.join(out_dir, os.path.splitext(os.path.basename(source))[0])
    proc = subprocess.run([cc, "-static", "-O2", "-o", out, source], stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise fx.FixtureError(f"compiling {source}: {proc.stderr.decode(errors='replace')}")
    with open(out, "rb") as f:
        return f.read()


def nginx_layer(binary, port):
    tree = Tree()
    tree.add_file("usr/sbin/nginx", binary, 0o755)
    tree.add_file("etc/nginx/conf.d/default.conf",
                  f"server {{\n    listen {port};\n    location / {{ root /usr/share/nginx/html; }}\n}}\n")
    tree.add_file("usr/share/nginx/html/index.html",
                  "<html><body><h1>Welcome to nginx!</h1></body></html>\n")
    tree.add_dir("var/run")
    return tree.layer(f"ADD nginx stand-in (port {port})")


def build_entries(cc, pause_path, busybox, work):
    base = base_tree(busybox).layer("ADD busybox, pgrep, ipcs /")
    busybox_cfg = config(cmd=["sh"])
    entries = []

    def add(repo, tags, layers, cfg):
        entries.append(fx.Entry(repo, tags, fx.Image("docker", layers, config=cfg,
                                                     simulate=False)))

    add(f"{E2E}/busybox", ["1.29-2", "1.29-4", "latest"], [base], busybox_cfg)

    nginx = compile_static(cc, os.path.join(HERE, "standins", "nginx.c"), work)
    nginx_cfg = config(cmd=["nginx", "-g", "daemon off;"])
    add(f"{E2E}/nginx", ["1.14-2", "1.14-4"], [base, nginx_layer(nginx, 80)], nginx_cfg)
    add(f"{STAGING}/hostnet-nginx-amd64", ["latest"], [base, nginx_layer(nginx, 12003)],
        nginx_cfg)

    # busybox httpd, started the way the real image starts Apache and logging the notice
    # Apache prints at start, which the container-log spec looks for.
    httpd = Tree()
    httpd.add_file("usr/local/apache2/htdocs/index.html", "<html><body>It works!</body></html>\n")
    httpd.add_file("usr/local/bin/httpd-foreground",
                   "#!/bin/sh\n"
                   "echo \"AH00094: Command line: 'httpd -D FOREGROUND'\" >&2\n"
                   "exec httpd -f -p 80 -h /usr/local/apache2/htdocs\n", 0o755)
    add(f"{E2E}/httpd", ["2.4.39-4", "2.4.39-1"], [base, httpd.layer("ADD httpd docroot")],
        config(cmd=["httpd-foreground"], workdir="/usr/local/apache2"))

    nnp = Tree()
    nnp.add_file("usr/local/bin/nnp", compile_static(
        cc, os.path.join(HERE, "standins", "nonewprivs.c"), work), 0o4755)
    add(f"{E2E}/nonewprivs", ["1.3"], [base, nnp.layer("ADD setuid nnp")], config(cmd=["nnp"]))

    for name, user in [("test-image-user-uid", "1002"), ("test-image-user-username", "www-data"),
                       ("test-image-user-uid-group", "1003:1004"),
                       ("test-image-user-username-group", "www-data:1004")]:
        add(f"{STAGING}/{name}", ["latest"], [base], config(cmd=["sh"], user=user))

    predefined = base_tree(
        busybox, passwd=PASSWD + "default-user:x:1000:1000:default-user:/home/default-user:/bin/sh\n",
        group=GROUP + "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n")
    predefined.add_dir("home/default-user")
    add(f"{STAGING}/test-image-predefined-group", ["latest"],
        [predefined.layer("ADD busybox with a predefined group")], config(cmd=["sh"], user="1000"))

    # Pull/list/remove specs compare image IDs: a label per name makes each ID distinct.
    for name, tags in [("test-image-1", ["latest"]), ("test-image-2", ["latest"]),
                       ("test-image-3", ["latest"]), ("test-image-latest", ["latest"]),
                       ("test-image-digest", ["latest"]), ("test-image-tag", ["test", "all"]),
                       ("test-image-tags", ["1", "2", "3"])]:
        add(f"{STAGING}/{name}", tags, [base],
            config(cmd=["sh"], labels={"io.crio-cpp.critest-stand-in": name}))

    pause = Tree()
    pause.add_host_file(pause_path, "pause", 0o755)
    add("pause", ["3.10.1", "3.10", "3.9", "3.8", "3.6"], [pause.layer("ADD pause /pause")],
        config(entrypoint=["/pause"]))
    return entries


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="HOST:PORT of a plain-HTTP registry")
    parser.add_argument("--pause", required=True, help="the static pause binary to ship")
    parser.add_argument("--busybox", required=True,
                        help="a busybox whose shell executes programs (Debian's dynamic one)")
    parser.add_argument("--cc", default="gcc", help="C compiler for the static stand-ins")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="critest-images.") as work:
            entries = build_entries(args.cc, args.pause, args.busybox, work)
        publisher = fx.RegistryPublisher(args.registry, None, None)
        publisher.check()
        result = {}
        for entry in entries:
            log(f"publishing {entry.repo} ({', '.join(entry.tags)})")
            publisher.publish(entry)
            for tag in entry.tags:
                result[f"{entry.repo}:{tag}"] = entry.target.manifest.digest
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    except (fx.FixtureError, OSError, subprocess.CalledProcessError) as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
