"""A Xet CAS server on 127.0.0.1 for the tests, written from xet-core's `spec/` (api.md,
auth.md, shard.md, xorb.md, download_protocol.md, file_id.md); tests/hub_server.py's FakeHub
runs one and points its Xet files at it.

The xorbs and shards it holds are the real hf_xet client's own bytes: FakeHub uploads Xet
files through `hf_xet` to the upload routes below, and the same client downloads them.

Upload (what hf_xet 1.8 calls, in order):
  GET  /v1/chunks/{prefix}/{chunk}        global dedupe query -> 404 (none here)
  POST /v1/xorb-grants/...                not in the spec -> 404: hf_xet falls back to
  POST /v1/xorbs/default/{xorb}           body = serialized xorb -> {"was_inserted": bool}
  POST /v2/shards                         not in the spec -> 404: hf_xet falls back to
  POST /v1/shards                         body = shard without footer -> {"result": 0|1}
  POST /v1/telemetry                      fire and forget -> 200
Download:
  GET  /v2/reconstructions/{file_id}      -> 404: hf_xet falls back to v1
  GET  /v1/reconstructions/{file_id}      (Range: bytes=a-b) -> QueryReconstructionResponse
  GET  /xorbs/default/{xorb}?sig=...      presigned URL, Range required -> 206 xorb bytes
                                          (paced by the owning hub's `throttle`)
Auth: "Authorization: Bearer <xet token>" on /v1 and /v2 routes; tokens come from the Hub's
xet-read-token / xet-write-token routes (`issue_token`); writes need a write token.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
BOOKEND = b"\xff" * 32
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA_EXT = 1 << 30


def hash_to_hex(h: bytes) -> str:
    """api.md 'Converting Hashes to Strings': each 8-byte group as a little-endian u64."""
    assert len(h) == 32
    return "".join(h[i:i + 8][::-1].hex() for i in range(0, 32, 8))


# --------------------------------------------------------------------------------------
# shard.md: parse an uploaded shard (header + file info section + CAS info section;
# uploads carry no footer, footer_size == 0)
# --------------------------------------------------------------------------------------
@dataclass
class Term:
    xorb: str            # xorb hash, hex string form
    unpacked: int        # unpacked_segment_bytes
    start: int           # chunk_index_start
    end: int             # chunk_index_end (exclusive)


@dataclass
class FileRecon:
    file_hash: str
    terms: list[Term]
    sha256: str | None


@dataclass
class CasBlock:
    xorb: str
    chunk_sizes: list[int]       # unpacked size of every chunk, from CASChunkSequenceEntry
    num_bytes_in_cas: int
    num_bytes_on_disk: int


class ShardError(ValueError):
    pass


def parse_shard(data: bytes) -> tuple[list[FileRecon], list[CasBlock]]:
    if len(data) < 48:
        raise ShardError("shard too short")
    _tag, version, footer_size = struct.unpack_from("<32sQQ", data, 0)
    if version != 2:
        raise ShardError(f"unsupported shard header version {version}")
    end = len(data) - footer_size
    pos = 48

    def take(n: int) -> int:
        nonlocal pos
        if pos + n > end:
            raise ShardError("truncated shard")
        p = pos
        pos += n
        return p

    files: list[FileRecon] = []
    while True:
        p = take(48)
        fhash, flags, n = struct.unpack_from("<32sII8x", data, p)
        if fhash == BOOKEND:
            break
        terms = []
        for _ in range(n):
            q = take(48)
            xh, _cflags, unpacked, cs, ce = struct.unpack_from("<32sIIII", data, q)
            if ce <= cs:
                raise ShardError("empty chunk range in term")
            terms.append(Term(hash_to_hex(xh), unpacked, cs, ce))
        if flags & FLAG_VERIFICATION:
            take(48 * n)  # verification hashes: not checked by this prototype (needs blake3)
        sha = None
        if flags & FLAG_METADATA_EXT:
            q = take(48)
            sha = data[q:q + 32].hex()
        files.append(FileRecon(hash_to_hex(fhash), terms, sha))

    blocks: list[CasBlock] = []
    while True:
        p = take(48)
        xh, _flags, n, in_cas, on_disk = struct.unpack_from("<32sIIII", data, p)
        if xh == BOOKEND:
            break
        sizes = []
        for _ in range(n):
            q = take(48)
            _ch, _start, unpacked = struct.unpack_from("<32sII8x", data, q)
            sizes.append(unpacked)
        blocks.append(CasBlock(hash_to_hex(xh), sizes, in_cas, on_disk))
    return files, blocks


# --------------------------------------------------------------------------------------
# xorb.md: walk the chunk headers of a serialized xorb to find each chunk's byte offset
# (8-byte header: version u8 = 0, compressed size u24 LE, scheme u8, uncompressed size u24 LE)
# --------------------------------------------------------------------------------------
def xorb_chunk_offsets(xorb: bytes, n_chunks: int, expect_sizes: list[int] | None = None) -> list[int]:
    """Offsets of chunk i (i < n_chunks) and the end of the last chunk: n_chunks + 1 numbers.
    Whatever follows the last chunk (xet-core appends a footer) is never served."""
    offs, pos = [], 0
    for i in range(n_chunks):
        if pos + 8 > len(xorb):
            raise ShardError(f"xorb truncated at chunk {i}")
        ver = xorb[pos]
        csize = int.from_bytes(xorb[pos + 1:pos + 4], "little")
        scheme = xorb[pos + 4]
        usize = int.from_bytes(xorb[pos + 5:pos + 8], "little")
        if ver != 0 or scheme > 2 or usize > 128 * 1024:
            raise ShardError(f"bad chunk header at chunk {i}")
        if expect_sizes is not None and usize != expect_sizes[i]:
            raise ShardError(f"chunk {i} size {usize} != shard's {expect_sizes[i]}")
        offs.append(pos)
        pos += 8 + csize
    offs.append(pos)
    if pos > len(xorb):
        raise ShardError("xorb truncated")
    return offs


@dataclass
class XorbInfo:
    data: bytes
    offsets: list[int] | None = None     # n+1 byte offsets once a shard has described it
    sizes: list[int] | None = None       # unpacked chunk sizes


@dataclass
class Token:
    scope: str       # "read" | "write"
    exp: int


class CasServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CasHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.lock = threading.Lock()
        self.xorbs: dict[str, XorbInfo] = {}
        self.files: dict[str, FileRecon] = {}
        self.tokens: dict[str, Token] = {}
        self.requests: list[tuple[str, str, dict[str, str], int]] = []
        self.secret = secrets.token_bytes(16)
        self.token_ttl = 3600
        self.unsupported: list[tuple[str, str, bytes]] = []
        #: bytes/second for xorb range bodies (None: full speed); FakeHub points it at its own
        self.throttle_of: Any = lambda: None
        self.stopping = threading.Event()
        self.conns: set[socket.socket] = set()

    # tokens (issued by the Hub's xet-{read,write}-token endpoints)
    def issue_token(self, scope: str) -> tuple[str, int]:
        tok = f"xet_{scope}_{secrets.token_hex(12)}"
        exp = int(time.time()) + self.token_ttl
        with self.lock:
            self.tokens[tok] = Token(scope, exp)
        return tok, exp

    def sign(self, xorb: str, a: int, b: int) -> str:
        return hmac.new(self.secret, f"{xorb}:{a}-{b}".encode(), hashlib.sha256).hexdigest()[:32]

    # server side of POST /v1/shards
    def register_shard(self, data: bytes) -> int:
        files, blocks = parse_shard(data)
        with self.lock:
            for b in blocks:
                x = self.xorbs.get(b.xorb)
                if x is None:
                    raise ShardError(f"shard references xorb {b.xorb} that was not uploaded")
                if b.num_bytes_on_disk not in (0, len(x.data)):  # hf_xet 1.8 sends 0
                    raise ShardError("num_bytes_on_disk mismatch")
                if sum(b.chunk_sizes) != b.num_bytes_in_cas:
                    raise ShardError("num_bytes_in_cas mismatch")
                x.offsets = xorb_chunk_offsets(x.data, len(b.chunk_sizes), b.chunk_sizes)
                x.sizes = b.chunk_sizes
            for f in files:
                for t in f.terms:
                    x = self.xorbs.get(t.xorb)
                    if x is None or x.sizes is None:
                        raise ShardError(f"term references unknown xorb {t.xorb}")
                    if t.end > len(x.sizes) or sum(x.sizes[t.start:t.end]) != t.unpacked:
                        raise ShardError("term does not match xorb chunks")
            new = 0
            for f in files:
                new += f.file_hash not in self.files
                self.files[f.file_hash] = f
        return 1 if (new or blocks) else 0

    def reconstruction(self, file_id: str, rng: tuple[int, int | None] | None) -> dict[str, Any] | None:
        """QueryReconstructionResponse (download_protocol.md) for the whole file or the
        inclusive byte range rng; None => 416."""
        with self.lock:
            f = self.files[file_id]
            xorbs = {t.xorb: self.xorbs[t.xorb] for t in f.terms}
        total = sum(t.unpacked for t in f.terms)
        first, last = 0, total - 1
        if rng is not None:
            first = rng[0]
            last = min(rng[1] if rng[1] is not None else total - 1, total - 1)
            if first >= total:
                return None
        terms, wanted, offset_into_first, pos = [], {}, 0, 0
        for t in f.terms:
            x = xorbs[t.xorb]
            t_start, t_end = pos, pos + t.unpacked  # file bytes [t_start, t_end)
            pos = t_end
            if t_end <= first or t_start > last:
                continue
            # trim to whole chunks covering [first, last]
            cs, ce, cpos = t.start, t.end, t_start
            sizes = x.sizes
            while cs < ce and cpos + sizes[cs] <= first:
                cpos += sizes[cs]
                cs += 1
            if not terms:
                offset_into_first = first - cpos
            epos = cpos + sum(sizes[cs:ce])
            while ce > cs + 1 and epos - sizes[ce - 1] > last:
                epos -= sizes[ce - 1]
                ce -= 1
            terms.append({"hash": t.xorb, "unpacked_length": sum(sizes[cs:ce]),
                          "range": {"start": cs, "end": ce}})
            wanted.setdefault(t.xorb, []).append((cs, ce))
        # One fetch_info entry per maximal run of wanted chunks in each xorb: overlapping or
        # adjacent term ranges are merged (hf_xet 1.8 panics if a xorb has overlapping
        # fetch_info entries, e.g. [0,1) and [0,2) for a file of zeros).
        fetch = {}
        for xh, ranges in wanted.items():
            x, merged = xorbs[xh], []
            for cs, ce in sorted(ranges):
                if merged and cs <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], ce)
                else:
                    merged.append([cs, ce])
            fetch[xh] = []
            for cs, ce in merged:
                a, b = x.offsets[cs], x.offsets[ce] - 1
                fetch[xh].append({"range": {"start": cs, "end": ce},
                                  "url": f"{self.url}/xorbs/default/{xh}?sig={self.sign(xh, a, b)}",
                                  "url_range": {"start": a, "end": b}})
        return {"offset_into_first_range": offset_into_first, "terms": terms, "fetch_info": fetch}

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class _HttpError(Exception):
    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.msg = status, msg


class _CasHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CasServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_HEAD = do_PUT = do_GET

    def _reply(self, status: int, body: bytes, ctype: str = "application/json",
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _auth(self, scope: str) -> None:
        auth = self.headers.get("Authorization") or ""
        tok = self.server.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if tok is None or tok.exp < time.time():
            raise _HttpError(401, "missing, unknown or expired xet token")
        if scope == "write" and tok.scope != "write":
            raise _HttpError(403, "write scope required")

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        segs = split.path.strip("/").split("/")
        status = 0
        try:
            status = self._route(segs, parse_qs(split.query))
        except _HttpError as e:
            status = e.status
            self._reply(e.status, json.dumps({"error": e.msg}).encode())
        except ShardError as e:
            status = 400
            self._reply(400, json.dumps({"error": str(e)}).encode())
        except (BrokenPipeError, ConnectionResetError):
            status = -1
            self.close_connection = True
        finally:
            hdrs = {k: v for k in ("Range", "Authorization", "Content-Length")
                    if (v := self.headers.get(k)) is not None}
            with self.server.lock:
                self.server.requests.append((self.command, split.path, hdrs, status))

    def _route(self, segs: list[str], query: dict[str, list[str]]) -> int:
        srv, cmd = self.server, self.command
        if cmd == "POST" and segs == ["v1", "telemetry"]:
            self._body()
            self._reply(200, b"{}")
            return 200
        if segs[:1] == ["v2"] or segs[:2] in (["v1", "xorb-grants"], ["v1", "xorb-commits"]):
            body = self._body() if cmd == "POST" else b""
            srv.unsupported.append((cmd, "/" + "/".join(segs), body[:400]))
            raise _HttpError(404, "not implemented (not in the Xet spec)")
        if cmd == "POST" and len(segs) == 4 and segs[:3] == ["v1", "xorbs", "default"]:
            self._auth("write")
            h = segs[3]
            if not _HEX64.match(h):
                raise _HttpError(400, "bad xorb hash")
            body = self._body()
            if len(body) > 64 * 1024 * 1024:
                raise _HttpError(400, "xorb too large")
            with srv.lock:
                inserted = h not in srv.xorbs
                if inserted:
                    srv.xorbs[h] = XorbInfo(body)
            self._reply(200, json.dumps({"was_inserted": inserted}).encode())
            return 200
        if cmd == "POST" and segs == ["v1", "shards"]:
            self._auth("write")
            result = srv.register_shard(self._body())
            self._reply(200, json.dumps({"result": result}).encode())
            return 200
        if cmd == "GET" and len(segs) == 4 and segs[:2] == ["v1", "chunks"]:
            self._auth("read")
            raise _HttpError(404, "no global dedup on this server")
        if cmd == "GET" and len(segs) == 3 and segs[:2] == ["v1", "reconstructions"]:
            self._auth("read")
            fid = segs[2]
            if not _HEX64.match(fid):
                raise _HttpError(400, "malformed file id")
            if fid not in srv.files:
                raise _HttpError(404, "file not found")
            rng = None
            if r := self.headers.get("Range"):
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", r.strip())
                if not m:
                    raise _HttpError(400, "bad range")
                rng = (int(m.group(1)), int(m.group(2)) if m.group(2) else None)
            rec = srv.reconstruction(fid, rng)
            if rec is None:
                raise _HttpError(416, "range not satisfiable")
            self._reply(200, json.dumps(rec).encode())
            return 200
        if cmd == "GET" and len(segs) == 3 and segs[:2] == ["xorbs", "default"]:
            return self._xorb_range(segs[2], query)
        raise _HttpError(404, f"no route {cmd} /{'/'.join(segs)}")

    def _xorb_range(self, h: str, query: dict[str, list[str]]) -> int:
        srv = self.server
        x = srv.xorbs.get(h)
        if x is None:
            raise _HttpError(404, "no such xorb")
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", (self.headers.get("Range") or "").strip())
        if not m:
            raise _HttpError(403, "a Range header is required (download_protocol.md)")
        a, b = int(m.group(1)), int(m.group(2))
        if not hmac.compare_digest((query.get("sig") or [""])[0], srv.sign(h, a, b)):
            raise _HttpError(403, "range not authorized by the signed url")
        if b >= len(x.data) or a > b:
            raise _HttpError(416, "range not satisfiable")
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {a}-{b}/{len(x.data)}")
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        view = memoryview(x.data)[a:b + 1]
        sent, t0 = 0, time.monotonic()
        while sent < len(view):
            if srv.stopping.is_set():
                self.close_connection = True
                return -1
            rate = srv.throttle_of()
            n = min(len(view) - sent, max(4096, int(rate / 20)) if rate else 1 << 20)
            if rate:
                delay = t0 + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.wfile.write(view[sent:sent + n])
            sent += n
        return 206
