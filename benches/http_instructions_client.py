"""Drives an HTTP hello server for benches/http_instructions.sh.

    python3 benches/http_instructions_client.py PORT REQUESTS DEPTH [METHOD]

One keep-alive connection sends REQUESTS requests for `/`, DEPTH at a time
(pipelined when DEPTH > 1, one by one when it is 1), and reads every
response before sending the next batch. METHOD is `GET` (the default, the
request wrk sends) or `POST` (the same request with a 5-byte
`Content-Length` body, which the server reads past). It counts responses
by their `Hello, World!` body and exits non-zero if the server closes
early.
"""

import socket
import sys

BODY = b"Hello, World!"


def request(method, port):
    head = b"%s / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method.encode(), port)
    if method == "GET":
        return head + b"\r\n"
    if method == "POST":
        return head + b"Content-Length: 5\r\n\r\nhello"
    sys.exit("unknown method %r: use GET or POST" % method)


def main():
    port, total, depth = (int(a) for a in sys.argv[1:4])
    method = sys.argv[4] if len(sys.argv) > 4 else "GET"
    batch = request(method, port) * depth
    sock = socket.create_connection(("127.0.0.1", port))
    pending = b""
    done = 0
    while done < total:
        sock.sendall(batch)
        answered = 0
        while answered < depth:
            data = sock.recv(1 << 16)
            if not data:
                sys.exit("the server closed the connection after %d responses" % (done + answered))
            pending += data
            found = pending.count(BODY)
            if found:
                answered += found
                pending = pending[pending.rfind(BODY) + len(BODY):]
        done += depth
    sock.close()


if __name__ == "__main__":
    main()
