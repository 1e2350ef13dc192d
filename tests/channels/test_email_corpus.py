"""The hand-made corpus in ``email_corpus/``: every file's classification, text, reply text and
attachments, as the email channel's rules say (issue 23, R-TKT-1: intake by email).

Each row: file, expected reason (None: the mail makes or extends a ticket), sender, a fragment
the text must contain, the exact reply text (or None to skip), and further checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpdesk_plugins.channel_email import EmailSettings, ParsedEmail, parse_email

CORPUS = Path(__file__).parent / "email_corpus"
SETTINGS = EmailSettings(
    from_address="support@example.com",
    from_name="Example Support",
    domains=("example.com",),
    automated_allow=("alerts@monitor.example.net",),
    attachment_max_bytes=5000,
    attachment_types=("text/*", "image/*", "application/pdf", "message/*"),
)
C = "zhang@customer.cn"
TOKEN = "T20261102000001"
CN = "我的包裹到了，但是外箱破损，里面的杯子碎了。"
JA = "荷物が壊れていました。交換をお願いします。"
KO = "소포가 파손되었습니다. 교환해 주세요."

ROWS: list[tuple[str, str | None, str | None, str, str | None, dict[str, Any]]] = [
    # plain text and the charsets users send
    ("plain_utf8.eml", None, C, "The cup inside is in pieces.", None, {"text_source": "plain"}),
    ("gbk_body.eml", None, C, CN, CN, {}),
    ("gb2312_label_gbk_chars.eml", None, C, "朱镕基和陶喆都用过这个杯子。", None, {}),
    ("gb18030_four_byte.eml", None, C, "杯子碎了😀，请尽快处理。", None, {}),
    ("big5_body.eml", None, C, "我的包裹壞了，請盡快處理。", None, {}),
    ("iso2022jp_body.eml", None, C, JA, None, {}),
    ("shift_jis_body.eml", None, C, JA, None, {}),
    ("euc_kr_body.eml", None, C, KO, None, {}),
    ("ks_c_5601_body.eml", None, C, KO, None, {}),
    ("rfc2047_subject_gbk.eml", None, C, "see subject", None, {"subject": "包裹破损投诉"}),
    ("rfc2047_subject_mixed.eml", None, C, "see subject", None, {"subject": "Re: café包裹 and more"}),
    ("raw_8bit_headers_utf8.eml", None, C, "杯子碎了。", None, {"subject": "包裹破损了", "sender_name": "张三"}),
    ("raw_8bit_headers_gbk.eml", None, "li@customer.cn", "我要退货。", None, {"subject": "退货申请", "sender_name": "李四"}),
    ("unknown_charset.eml", None, C, "Ünknown label, UTF-8 bytes: 杯子", None, {}),
    ("lying_ascii_is_utf8.eml", None, C, "naïve café 杯子", None, {}),
    ("lying_latin1_is_gbk.eml", None, C, CN, None, {}),
    ("lying_utf8_is_gbk.eml", None, C, CN, None, {}),
    ("quoted_printable_utf8.eml", None, C, "杯子碎了，外箱破损，请尽快安排换货，谢谢。 = done", None, {}),
    ("base64_gbk.eml", None, C, CN, None, {}),
    ("broken_base64.eml", None, C, "Broken base64 still reads: 杯", None, {}),
    ("no_content_type.eml", None, "plain@customer.cn", "Just text, no MIME headers.", None, {}),
    ("no_content_type_8bit.eml", None, "plain@customer.cn", "没有MIME头，直接8位UTF-8。", None, {}),
    ("bad_encoded_word.eml", None, C, "broken encoded word", None, {"subject": "包\ufffd tail"}),
    ("encoded_word_unknown_charset.eml", None, C, "Unknown charset", None, {"subject": "café"}),
    ("from_without_brackets.eml", None, C, "Address without brackets.", None, {}),
    ("nul_bytes_in_body.eml", None, C, "Text with a NUL byte inside.", None, {}),
    ("crlf_line_endings.eml", None, C, "CRLF line one.\nCRLF line two.", None, {}),
    # HTML
    ("html_only.eml", None, C, "Hello team,\n\nThe cup is broken & the box too.\n\n- order 123\n- order 456", None, {"text_source": "html"}),
    ("html_only_gb2312.eml", None, C, "您好，\n杯子碎了。", None, {"text_source": "html"}),
    ("alternative_prefers_plain.eml", None, C, "PLAIN version wins.", None, {"text_source": "plain"}),
    ("alternative_empty_plain.eml", None, C, "Only the HTML has words.", None, {"text_source": "html"}),
    ("alternative_related_html.eml", None, C, "See the photo: broken cup", None, {"attachments": ["cup.png"]}),
    ("html_entities_links.eml", None, C, "Track it here (https://track.example.net/123) or mail help@example.com. 5 < 6 & 杯子", None, {}),
    # broken structure, odd stores, limits
    ("missing_final_boundary.eml", None, C, "No closing boundary but the text stays. 杯子", None, {"defects": "CloseBoundaryNotFoundDefect"}),
    ("malformed_boundary.eml", None, C, "Boundary mismatch text.", None, {"defects": "StartBoundaryNotFoundDefect"}),
    ("multipart_without_boundary.eml", None, C, "A multipart with no boundary parameter.", None, {"defects": "NoBoundaryInMultipartDefect"}),
    ("endless_nesting.eml", None, C, "Top-level text survives deep nesting.", None, {"defects": "MIME nesting deeper than 30"}),
    ("nested_forwards_60.eml", None, C, "Sixty forwards deep", None, {"attachments": ["part-3.eml"]}),
    ("huge_headers.eml", None, C, "Huge headers, small body.", None, {"references": 500}),
    ("huge_single_header.eml", None, C, "A very long folded subject.", None, {"subject_len": 5000 * 18 - 1}),
    ("header_lost_indentation.eml", None, C, "Repaired header block.", None, {}),
    ("mbox_from_line.eml", None, C, "Stored in an mbox.", None, {}),
    ("inline_text_parts_joined.eml", None, C, "First inline part.\n\nSecond inline part (a list footer).", None, {}),
    # unusable input: quarantined with a reason
    ("empty_file.eml", "unparseable", None, "", None, {"detail": "no header fields"}),
    ("not_an_email.eml", "unparseable", None, "", None, {"detail": "no header fields"}),
    ("binary_garbage.eml", "unparseable", None, "", None, {}),
    ("no_sender.eml", "unparseable", None, "Nobody sent this.", None, {"detail": "no sender address"}),
    # automated mail, bounces, loops (top-level headers only)
    ("auto_submitted_auto_replied.eml", "auto_submitted", C, "out of office", None, {"detail": "Auto-Submitted: auto-replied"}),
    ("auto_submitted_auto_generated.eml", "auto_submitted", C, "password", None, {}),
    ("auto_submitted_no.eml", None, C, "A human wrote this.", None, {}),
    ("precedence_bulk.eml", "precedence", C, "Newsletter.", None, {"detail": "Precedence: bulk"}),
    ("precedence_junk.eml", "precedence", C, "Junk.", None, {}),
    ("precedence_list.eml", "precedence", C, "List post.", None, {}),
    ("x_loop_ours.eml", "loop", C, "Came back around.", None, {"detail": "names us"}),
    ("x_loop_other.eml", None, C, "Someone else's loop header.", None, {}),
    ("x_auto_response_suppress.eml", "auto_submitted", C, "Exchange", None, {"detail": "X-Auto-Response-Suppress: All"}),
    ("x_auto_response_suppress_none.eml", None, C, "human mail", None, {}),
    ("x_autoreply_yes.eml", "auto_submitted", C, "Vacation.", None, {}),
    ("ooo_zh_autoreply.eml", "auto_submitted", C, "我休假中", None, {"subject": "自动回复：包裹破损"}),
    ("dsn_multipart_report.eml", "dsn", "bounces@mx.customer.cn", "could not be delivered", None, {"detail": "RFC 3464"}),
    ("read_receipt.eml", "dsn", C, "displayed", None, {"detail": "read receipt"}),
    ("return_path_empty.eml", "dsn", "system@mx.customer.cn", "Bounce", None, {"detail": "Return-Path: <>"}),
    ("mailer_daemon_sender.eml", "dsn", "mailer-daemon@mx.customer.cn", "Delivery failed.", None, {}),
    ("postmaster_sender.eml", "dsn", "postmaster@mx.customer.cn", "Delivery delayed.", None, {}),
    ("own_message_back.eml", "own_message", "support@example.com", "came back", None, {}),
    ("allow_listed_automated.eml", None, "alerts@monitor.example.net", "disk 91% full", None, {}),
    ("allow_listed_but_looping.eml", "loop", "alerts@monitor.example.net", "our loop", None, {}),
    ("forward_nested_auto_headers.eml", None, C, "forwarded shop mail", None, {"attachments": ["part-3.eml"]}),
    ("forward_nested_dsn.eml", None, C, "Why did my mail to you bounce?", None, {"attachments": ["part-3.eml"]}),
    ("digest.eml", None, C, "Digest of two messages follows.", None, {"attachments": ["part-4.eml", "part-5.eml"]}),
    # replies: the new text only
    ("reply_en_gmail.eml", None, C, "We are sending a replacement.", "Thanks, the replacement works.", {"token": TOKEN}),
    ("reply_en_one_line.eml", None, C, "wrote:", "Got it, thank you!", {"token": TOKEN}),
    ("reply_zh_wrote.eml", None, C, "写道", "好的，收到了，谢谢！", {"token": TOKEN}),
    ("reply_zh_yu_wrote.eml", None, C, "写道", "新杯子已经收到。", {}),
    ("reply_outlook_original.eml", None, C, "-----Original Message-----", "Please call me tomorrow.", {}),
    ("reply_outlook_from_sent.eml", None, C, "Sent: Monday", "The box is still damaged.", {}),
    ("reply_zh_qq_original.eml", None, C, "原始邮件", "请尽快处理。", {}),
    ("reply_signature.eml", None, C, "Customer Inc.", "I will be home after six.", {}),
    ("reply_mobile_footer.eml", None, C, "发自我的iPhone", "收到", {}),
    ("reply_inline_quotes_kept.eml", None, C, "Blue.", "> Which colour was the cup?\nBlue.\n> And the order number?\n12345.", {}),
    ("reply_html_gmail.eml", None, C, "We are sending a replacement.", "Replacement received, thanks.", {"text_source": "html"}),
    # attachments within limits
    ("attachment_pdf.eml", None, C, "Invoice attached.", None, {"attachments": ["invoice.pdf"]}),
    ("attachment_rfc2231_name.eml", None, C, "发票见附件。", None, {"attachments": ["发票.pdf"]}),
    ("attachment_too_large.eml", None, C, "A big photo.", None, {"rejected": ["big.jpg"]}),
    ("attachment_type_blocked.eml", None, C, "Run this tool.", None, {"rejected": ["tool.exe"]}),
    ("attachment_only.eml", None, C, "", None, {"attachments": ["_.._etc_passwd.pdf"], "text_source": "none"}),
]  # fmt: skip


def test_the_corpus_has_at_least_sixty_files_and_every_one_is_in_the_table() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 60
    assert files == sorted(row[0] for row in ROWS)


def _check_extra(parsed: ParsedEmail, extra: dict[str, Any]) -> None:
    for key, want in extra.items():
        if key == "attachments":
            assert [a.filename for a in parsed.attachments] == want
            assert all(a.size > 0 for a in parsed.attachments)
        elif key == "rejected":
            assert [r.filename for r in parsed.rejected_attachments] == want
            assert not parsed.attachments
        elif key == "defects":
            assert any(want in d for d in parsed.defects), parsed.defects
        elif key == "detail":
            assert parsed.classification is not None and want in parsed.classification.detail
        elif key == "token":
            assert parsed.ticket_token == want
        elif key == "references":
            assert len(parsed.references) == want
        elif key == "subject_len":
            assert len(parsed.subject) == want
        else:
            assert getattr(parsed, key) == want, key


@pytest.mark.parametrize(
    ("name", "reason", "sender", "text", "reply", "extra"), ROWS, ids=[r[0] for r in ROWS]
)
def test_corpus_message_parses_as_expected(
    name: str,
    reason: str | None,
    sender: str | None,
    text: str,
    reply: str | None,
    extra: dict[str, Any],
) -> None:
    raw = (CORPUS / name).read_bytes()
    parsed = parse_email(raw, SETTINGS)
    assert parsed.reason == reason, parsed.classification
    assert parsed.sender == sender
    assert text in parsed.text
    if reply is not None:
        assert parsed.reply_text == reply
    assert len(parsed.sha256) == 64 and parsed.size == len(raw)
    if reason is None:
        assert parsed.text or parsed.attachments, "a ticket-making mail keeps its text"
    _check_extra(parsed, extra)
