"""Several strata gateways on one root behind a real load balancer (Debian's
nginx), for tests that must see what one client sees when its requests land
on different gateways.

nginx spreads requests, not connections: one worker, round robin over an
upstream with keep-alive connections, so consecutive requests of a client on
one connection reach different gateways. It passes the request line and
Host unchanged (SharedKey signatures cover both), streams bodies both ways,
and sends a request to another gateway only when the connect to the one it
picked failed, so nothing of it reached that gateway, and nginx still holds
all of it (no body, or the whole body came with the header); one whose body
it had begun to stream gets 504 instead, which clients retry. _nginx_conf
says how, and why nginx's own retry is not used.

    with StrataCluster(3) as c:
        BlobServiceClient.from_connection_string(c.connection_string)
        c.gateways[0].port      # one gateway directly
        c.kill(1); c.restart(1)
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from strata_server import DevAccountEndpoint, StrataServer, free_port  # noqa: E402

NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")


class Gateway(StrataServer):
    """A StrataServer whose output is drained into a file after the banner
    (a full pipe would block it), so a test can read what it said."""

    def __init__(self, index, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = index
        self.log_path = None
        self._drain = None

    def start(self, timeout=20):
        super().start(timeout)
        out = self.proc.stdout
        log = open(self.log_path, "a")
        log.write(self.banner)
        log.flush()

        def drain():
            try:
                for line in out:
                    log.write(line)
                    log.flush()
            except (OSError, ValueError):
                pass
            finally:
                log.close()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        return self

    def _exited(self):
        if self._drain:
            self._drain.join(timeout=5)  # ends at EOF, which the exit gives
            self._drain = None

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    @property
    def pid(self):
        return self.proc.pid


# What every server block shares: requests pass unchanged and bodies stream.
_SERVER_COMMON = """
    merge_slashes off;             # blob names may hold "//"
    client_max_body_size 0;        # no limit: strata enforces Azure's
    client_header_buffer_size 64k;
    large_client_header_buffers 8 256k;
    underscores_in_headers on;     # x-ms-meta-my_key
    ignore_invalid_headers off;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    client_body_timeout 120s;
    send_timeout 120s;
"""
_PROXY_COMMON = """
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_pass_header Server;
      proxy_pass_header Date;
      proxy_redirect off;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_max_temp_file_size 0;
      proxy_buffer_size 64k;
      proxy_buffers 8 64k;
      proxy_connect_timeout 2s;
      proxy_send_timeout 300s;
      proxy_read_timeout 300s;
"""
# A status strata never sends: a gateway refused the connection, nothing of
# the request reached it.
REFUSED = 504


def _nginx_conf(work, port, relays, gateways):
    """Two tiers in one nginx. The balancer (port) spreads requests over one
    relay per gateway; a relay passes each request to its one gateway and,
    when the connect fails, answers REFUSED, on which (only) the balancer
    tries the next relay. nginx by itself can retry only on "error", which
    also covers a gateway dying after it got the request, and it resends
    any request whose body it had read whole (a small one, a bodyless one):
    a conditional create, an append or a rename could then be applied twice.
    A streamed body the balancer has begun to send is never resent: that
    client gets REFUSED (a 504, which SDKs retry)."""
    relay_servers = "\n".join("    server 127.0.0.1:%d max_fails=1 fail_timeout=1s;" % r
                               for r in relays)
    blocks = []
    for k, (relay, gw) in enumerate(zip(relays, gateways)):
        blocks.append("""
  upstream gateway%(k)d {
    server 127.0.0.1:%(gw)d max_fails=0;
    keepalive 32;
    keepalive_requests 100000;
    # Below strata's idle timeout (120 s): nginx, not the gateway, closes an
    # idle connection, so no request is sent on one the gateway just closed.
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:%(relay)d;
    access_log off;
%(server)s
    location / {
      proxy_pass http://gateway%(k)d;
%(proxy)s
      proxy_next_upstream off;
      error_page 502 = @failed;
    }
    location @failed {
      # No connect time: the connect failed (refused, reset, timed out).
      if ($upstream_connect_time = "-") {
        return %(refused)d;
      }
      return 502;
    }
  }""" % {"k": k, "gw": gw, "relay": relay, "server": _SERVER_COMMON, "proxy": _PROXY_COMMON,
          "refused": REFUSED})
    # Workers of a root master switch to `nobody`, who could not write the
    # temporary directories here; unprivileged, nginx ignores `user`.
    user = "user %s;" % pwd.getpwuid(0).pw_name if os.geteuid() == 0 else ""
    return """
%(user)s
worker_processes 1;
daemon off;
pid %(work)s/nginx.pid;
error_log %(work)s/error.log warn;
events { worker_connections 4096; }
http {
  log_format lb '$connection $connection_requests $request_method "$request_uri" '
                '$status|$upstream_addr|$upstream_status';
  access_log %(work)s/access.log lb;
  client_body_temp_path %(work)s/body;
  proxy_temp_path %(work)s/proxy;
  fastcgi_temp_path %(work)s/fastcgi;
  uwsgi_temp_path %(work)s/uwsgi;
  scgi_temp_path %(work)s/scgi;

  upstream strata {
%(relay_servers)s
    keepalive 64;
    keepalive_requests 100000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:%(port)d;
%(server)s
    location / {
      proxy_pass http://strata;    # no URI part: the request URI as the client sent it
%(proxy)s
      # Only a relay's "refused" moves a request on (POST and PATCH too:
      # nothing of it reached a gateway).
      proxy_next_upstream http_%(refused)d non_idempotent;
      proxy_next_upstream_tries 0;
    }
  }
%(blocks)s
}
""" % {"user": user, "work": work, "port": port, "relay_servers": relay_servers,
       "server": _SERVER_COMMON, "proxy": _PROXY_COMMON, "refused": REFUSED,
       "blocks": "\n".join(blocks)}


class StrataCluster(DevAccountEndpoint):
    """n gateways on ONE root and nginx in front of them."""

    def __init__(self, n=3, root=None, extra_args=(), config=None, env=None):
        self.n = n
        self.root = root or tempfile.mkdtemp(prefix="strata-cluster-")
        self.extra_args = list(extra_args)
        self.config = config
        self.env = env
        self.work = tempfile.mkdtemp(prefix="strata-lb-")
        self.gateways = []
        self.nginx = None
        self.port = None
        self.relays = []  # nginx's relay port of each gateway

    # -- life -----------------------------------------------------------
    def start(self, timeout=30):
        try:
            for i in range(self.n):
                g = Gateway(i, root=self.root, extra_args=self.extra_args, config=self.config,
                            env=self.env)
                g.log_path = os.path.join(self.work, "gateway-%d.log" % i)
                g.start(timeout)
                g.listen_port = g.port  # a restart takes the same port again
                self.gateways.append(g)
            self._start_nginx(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _start_nginx(self, timeout):
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.work, sub), exist_ok=True)
        last = None
        for _ in range(3):  # the port picked may be taken before nginx binds it
            port = free_port()
            self.relays = [free_port() for _ in self.gateways]
            conf = os.path.join(self.work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(_nginx_conf(self.work, port, self.relays, [g.port for g in self.gateways]))
            err = open(os.path.join(self.work, "nginx.out"), "w")
            proc = subprocess.Popen([NGINX, "-p", self.work + "/", "-c", conf,
                                     "-e", os.path.join(self.work, "error.log")],
                                    stdout=err, stderr=subprocess.STDOUT)
            err.close()
            deadline = time.time() + timeout
            while time.time() < deadline and proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        self.nginx, self.port = proc, port
                        return
                except OSError:
                    time.sleep(0.02)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            last = self.error_log()
        raise RuntimeError("nginx did not start: %s" % last)

    def stop(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        for g in self.gateways:
            g.stop()

    def cleanup(self):
        """stop() and remove the root and nginx's directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def kill(self, i, sig=signal.SIGKILL):
        """Kills gateway i (SIGKILL: no cleanup at all) and waits for it."""
        g = self.gateways[i]
        g.proc.send_signal(sig)
        g.proc.wait(timeout=10)
        g.stop()

    def restart(self, i, timeout=20):
        """Starts gateway i again on its old port (nginx knows it by that)."""
        g = self.gateways[i]
        if g.alive():
            g.stop()
        deadline = time.time() + timeout
        while True:  # the port is ours, but a socket of the dead one may linger a moment
            try:
                return g.start(max(1, deadline - time.time()))
            except RuntimeError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    # endpoint, connection_string, lake_client: DevAccountEndpoint, on self.port

    def alive(self):
        return self.nginx is not None and self.nginx.poll() is None

    # -- what nginx saw -------------------------------------------------
    def access_log(self):
        """nginx's access log as dicts: connection (the client's connection
        number), request (its ordinal on that connection), method, uri,
        status, gateways (the indexes of the gateways tried, in order: more
        than one when one refused the connection), upstream_status (theirs)."""
        path = os.path.join(self.work, "access.log")
        out = []
        if not os.path.exists(path):
            return out
        by_relay = {"127.0.0.1:%d" % r: k for k, r in enumerate(self.relays)}
        with open(path) as f:
            for line in f:
                head, uri, tail = line.split('"', 2)
                conn, nreq, method = head.split()
                status, upstream, ustatus = tail.strip().split("|")
                tried = [by_relay.get(a.strip(), a.strip()) for a in upstream.split(",")
                         if a.strip() and a.strip() != "-"]
                out.append({"connection": int(conn), "request": int(nreq), "method": method,
                            "uri": uri, "status": int(status), "gateways": tried,
                            "upstream_status": [x.strip() for x in ustatus.split(",")]})
        return out

    def access_log_when(self, ready, timeout=5):
        """The access log once ready(log) holds (nginx writes a line just
        after the response), or as it is after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.access_log()
            if ready(log) or time.monotonic() > deadline:
                return log
            time.sleep(0.01)

    def error_log(self):
        path = os.path.join(self.work, "error.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()
