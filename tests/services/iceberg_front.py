"""A front for the Iceberg REST catalog jar (tests/services/iceberg.sh) that
adds what the jar's RESTCatalogServer does not check: TLS (the test PKI of
lib.sh make_test_tls) and bearer tokens. Every request is forwarded to the
jar unchanged, the OAuth2 token endpoint /v1/oauth/tokens included: the jar
issues the tokens (client_credentials grant: "client-credentials-token:sub=
<client_id>"), the front only refuses catalog requests whose Authorization is
not one of the accepted tokens (401, the REST spec's error body) and, when
--client-secret is given, token requests without that client_secret. With
--client-ca the TLS handshake requires a client certificate signed by that
CA (mutual TLS).

Usage: iceberg_front.py --port P --upstream http://127.0.0.1:N
           [--cert server.pem --key server.key [--client-ca ca.pem]] [--token T ...] [--client-secret S]
           [--token-uses N]   (a token expires after N catalog requests, until
                               the next token request: clients must ask again)
Prints "listening <port>" once it accepts connections; the test owns the
process and ends it."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--client-secret")
    ap.add_argument("--token-uses", type=int, default=0)
    a = ap.parse_args()
    uses = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("front: " + fmt % args + "\n")

        def refuse(self, status, kind, message):
            body = json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            if self.path.startswith("/v1/oauth/tokens"):
                with lock:
                    uses["n"] = 0
                form = urllib.parse.parse_qs((body or b"").decode())
                if a.client_secret and form.get("client_secret") != [a.client_secret]:
                    # an OAuth2 error body (RFC 6749 5.2), not the catalog's
                    data = json.dumps({"error": "invalid_client", "error_description": "wrong client_secret"})
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return self.wfile.write(data.encode())
            elif a.token:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in a.token:
                    return self.refuse(401, "NotAuthorizedException", "no valid bearer token")
                with lock:
                    uses["n"] += 1
                    expired = a.token_uses and uses["n"] > a.token_uses
                if expired:
                    return self.refuse(401, "NotAuthorizedException", "token expired")
            req = urllib.request.Request(a.upstream + self.path, data=body, method=self.command)
            for h in ("Content-Type", "Authorization"):
                if self.headers.get(h):
                    req.add_header(h, self.headers[h])
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
            except urllib.error.HTTPError as e:
                status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_HEAD = forward

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"listening {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
