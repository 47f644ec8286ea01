"""Decoding: every real page decodes cleanly; GBK-only characters survive a gb2312 label; lying labels are ignored."""
from __future__ import annotations

import pytest

from crawler.extract.decode import declared_charset, decode, normalise_label

# manifest `actual_bytes` → the codecs that satisfy it
_EXPECTED = {"utf-8": {"utf-8", "utf-8-sig"}, "gb18030-compatible": {"gb18030"}}


@pytest.mark.realpages
def test_every_real_page_decodes_without_new_replacement_chars(realpages, manifest):
    problems = []
    for entry in manifest:
        raw = (realpages / entry["file"]).read_bytes()
        text, codec = decode(raw)
        stored = raw.count(b"\xef\xbf\xbd")  # U+FFFD already present in the upstream bytes (UTF-8 encoded)
        if text.count("\ufffd") != stored:
            problems.append(f"{entry['file']}: {text.count(chr(0xFFFD))} U+FFFD decoded, {stored} in the bytes")
        if codec not in _EXPECTED[entry["actual_bytes"]]:
            problems.append(f"{entry['file']}: decoded as {codec}, manifest says {entry['actual_bytes']}")
    assert not problems, "\n".join(problems)


@pytest.mark.realpages
def test_stored_replacement_chars_are_counted(realpages, manifest):
    # two upstream files carry EF BF BD; decoding must neither add to nor hide them
    carriers = [e for e in manifest if (realpages / e["file"]).read_bytes().count(b"\xef\xbf\xbd")]
    assert len(carriers) == 2
    for entry in carriers:
        raw = (realpages / entry["file"]).read_bytes()
        assert decode(raw)[0].count("\ufffd") == raw.count(b"\xef\xbf\xbd")


def _page(body: str, charset: str, codec: str) -> bytes:
    html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
            f"<title>t</title></head><body><p>{body}</p></body></html>")
    return html.encode(codec)


def test_gbk_only_characters_survive_a_gb2312_label():
    raw = _page("新华社记者胡喆报道，朱镕基同志", "gb2312", "gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gb2312")  # the label alone would lose them
    text, codec = decode(raw)
    assert codec == "gb18030"
    assert "胡喆" in text and "朱镕基" in text
    assert "\ufffd" not in text


def test_gbk_label_and_header_are_upgraded():
    raw = _page("喆镕", "gbk", "gbk")
    assert decode(raw)[0].count("喆镕") == 1
    assert decode(raw, "text/html; charset=GB2312")[1] == "gb18030"
    assert normalise_label("GB2312") == "gb18030"
    assert normalise_label("x-unknown-charset") is None


def test_utf8_declared_as_gb2312_is_read_as_utf8():
    raw = _page("人民网记者胡喆：健康中国", "gb2312", "utf-8")
    text, codec = decode(raw)
    assert codec == "utf-8"
    assert "人民网记者胡喆：健康中国" in text


def test_header_charset_wins_over_meta_for_declaration():
    raw = _page("x", "utf-8", "ascii")
    assert declared_charset(raw, "text/html; charset=gbk") == "gbk"
    assert declared_charset(raw, None) == "utf-8"


def test_undecodable_bytes_do_not_raise():
    for raw in (b"", b"\xff\xfe\x00", bytes(range(256)) * 3, b"<html>\x81\x82\x83\xfe\xff</html>"):
        text, codec = decode(raw)
        assert isinstance(text, str) and codec


def test_bom_is_honoured():
    text, codec = decode("\ufeff<p>健康</p>".encode("utf-8"))
    assert codec == "utf-8-sig" and text.startswith("<p>")
