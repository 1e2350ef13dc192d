"""Email parsing: per-message time of ``parse_email`` on ordinary mail, against the stdlib
parse alone (``BytesParser(policy=policy.default).parsebytes``, the peer) in the same run, and
how the time grows with the header size.

The mix is what a desk receives: short plain replies with a quoted original, HTML-only mail,
multipart/alternative, GBK and Big5 bodies with RFC 2047 subjects, and mail with a PDF and a
photo attached. Goals (issue 23): p95 within the ingest budget of 5 ms per ordinary message,
and a message whose header block is 10x larger takes at most ~12x the time.
With ``--peer-corpus DIR`` (default ``../shared/email-peer-corpus`` beside the project, when
present) the same figures are printed for those real messages too.

    python benchmarks/bench_email.py [--rounds 200]

Times are CPU time of this process (``time.process_time``), so other work on a shared machine
does not count; cache and frequency effects still do.
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path

from helpdesk_plugins.channel_email import EmailSettings, parse_email
from helpdesk_plugins.channel_email.html_text import html_to_text

SETTINGS = EmailSettings(from_address="support@example.com", domains=("example.com",))


def headers(scale: int, subject: str = "Parcel arrived broken") -> str:
    """A realistic header block; ``scale`` multiplies its repeated fields (Received, To,
    References), so scale 10 is a header block ten times as large as scale 1."""
    received = "".join(
        f"Received: from relay{i}.customer.cn (relay{i}.customer.cn [203.0.113.{i % 250}])\n"
        f"\tby mx.example.com (Postfix) with ESMTPS id 4Q{i:06d}\n"
        f"\tfor <support@example.com>; Mon, 2 Nov 2026 09:00:{i % 60:02d} +0800\n"
        for i in range(6 * scale)
    )
    to = ", ".join(f"Colleague {i} <c{i}@customer.cn>" for i in range(3 * scale))
    refs = " ".join(f"<thread-{i}.{i * 7919}@mail.customer.cn>" for i in range(4 * scale))
    return (
        f"{received}From: =?utf-8?B?{base64.b64encode('张三'.encode()).decode()}?= "
        f"<zhang@customer.cn>\nTo: support@example.com, {to}\nSubject: {subject}\n"
        "Date: Mon, 02 Nov 2026 09:00:00 +0800\nMessage-ID: <m-1@mail.customer.cn>\n"
        f"References: {refs}\nIn-Reply-To: <thread-0.0@mail.customer.cn>\nMIME-Version: 1.0\n"
    )


def ordinary_mix() -> list[bytes]:
    cn = "您好，我的包裹到了，但是外箱破损，里面的杯子碎了，请尽快安排换货。谢谢！\n" * 3
    reply = (
        "Thanks, that works for me.\n\nOn Mon, Nov 2, 2026 at 10:00 AM Example Support "
        "<support@example.com> wrote:\n" + "> We are sending a replacement today.\n" * 15
    )
    html = "<html><body>" + "<p>The <b>cup</b> arrived broken &amp; the box too.</p>" * 10
    html += "<blockquote>Earlier message</blockquote></body></html>"
    pdf = base64.encodebytes(b"%PDF-1.4\n" + bytes(range(256)) * 120).decode()
    photo = base64.encodebytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 200).decode()
    subject_gbk = "=?gbk?B?" + base64.b64encode("包裹破损投诉".encode("gbk")).decode() + "?="
    return [
        (headers(1) + "Content-Type: text/plain; charset=utf-8\n\n" + reply).encode(),
        (headers(1) + "Content-Type: text/html; charset=utf-8\n\n" + html).encode(),
        (
            headers(1) + 'Content-Type: multipart/alternative; boundary="a"\n\n--a\n'
            "Content-Type: text/plain; charset=utf-8\n\n" + reply + "\n--a\n"
            "Content-Type: text/html; charset=utf-8\n\n" + html + "\n--a--\n"
        ).encode(),
        headers(1, subject_gbk).encode()
        + b"Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n"
        + cn.encode("gbk"),
        headers(1).encode()
        + b"Content-Type: text/plain; charset=big5\n\n"
        + "我的包裹壞了，請盡快處理。\n".encode("big5") * 5,
        (
            headers(1) + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\n'
            "Content-Type: text/plain; charset=utf-8\n\nInvoice and photo attached.\n--m\n"
            'Content-Type: application/pdf\nContent-Disposition: attachment; filename="i.pdf"\n'
            "Content-Transfer-Encoding: base64\n\n" + pdf + "--m\n"
            'Content-Type: image/jpeg\nContent-Disposition: attachment; filename="cup.jpg"\n'
            "Content-Transfer-Encoding: base64\n\n" + photo + "--m--\n"
        ).encode(),
    ]


def timings(run: Callable[[bytes], object], messages: list[bytes], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for raw in messages:
            start = time.process_time()
            run(raw)
            out.append(time.process_time() - start)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stdlib_parse(raw: bytes) -> object:
    return BytesParser(policy=policy.default).parsebytes(raw)


def ours(raw: bytes) -> object:
    return parse_email(raw, SETTINGS)


def report(title: str, messages: list[bytes], rounds: int) -> None:
    mine = timings(ours, messages, rounds)
    peer = timings(stdlib_parse, messages, rounds)
    p50, p95 = percentile(mine, 0.5) * 1e3, percentile(mine, 0.95) * 1e3
    q50, q95 = percentile(peer, 0.5) * 1e3, percentile(peer, 0.95) * 1e3
    print(f"{title}: {len(messages)} messages x {rounds} rounds")
    print(f"  parse_email      p50 {p50:7.3f} ms   p95 {p95:7.3f} ms")
    print(f"  stdlib parse     p50 {q50:7.3f} ms   p95 {q95:7.3f} ms   (peer)")
    print(f"  ratio            p50 {p50 / q50:7.2f} x    p95 {p95 / q95:7.2f} x")


def header_growth(rounds: int) -> None:
    body = "Content-Type: text/plain; charset=utf-8\n\nThe cup arrived broken.\n"
    print("header growth (same body; Received, To and References repeated; best of the rounds):")
    base: tuple[float, float] | None = None
    for scale in (1, 10, 100):
        raw = (headers(scale) + body).encode()
        # the best round is the cost of the work itself; medians on a shared machine measure
        # the neighbours too
        mine = min(timings(ours, [raw], rounds))
        peer = min(timings(stdlib_parse, [raw], rounds))
        base = base or (mine, peer)
        print(
            f"  x{scale:<4} header {len(raw) - len(body):8,d} B  parse_email {mine * 1e3:8.3f} ms"
            f" ({mine / base[0]:6.1f}x)   stdlib {peer * 1e3:8.3f} ms ({peer / base[1]:6.1f}x)"
        )


def hostile_html_growth() -> None:
    """HTML built to make a tag parser re-scan its input: time must grow linearly."""
    print("hostile HTML (unclosed tags, deep blocks), 10x the size each step (best of 5):")
    for unit in ("<a ", "<p>", "<![CDATA["):
        times = []
        for n in (2_000, 20_000):
            best = float("inf")
            for _ in range(5):
                start = time.process_time()
                html_to_text(unit * n)
                best = min(best, time.process_time() - start)
            times.append(best)
        print(
            f"  {unit!r:12} x2,000 {times[0] * 1e3:8.2f} ms   x20,000 {times[1] * 1e3:8.2f} ms"
            f"   ({times[1] / times[0]:5.1f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    default_peer = Path(__file__).resolve().parents[1].parent / "shared" / "email-peer-corpus"
    parser.add_argument("--peer-corpus", type=Path, default=default_peer)
    args = parser.parse_args()
    report("ordinary mix", ordinary_mix(), args.rounds)
    header_growth(max(5, args.rounds // 4))
    hostile_html_growth()
    if args.peer_corpus.is_dir():
        peer = [p.read_bytes() for p in sorted(args.peer_corpus.glob("*.eml"))]
        report(f"peer corpus {args.peer_corpus}", peer, max(1, args.rounds // 100))


if __name__ == "__main__":
    main()
