"""Text repair (dataflow/extract/repair.py): one row per kind of fix, and clean text left alone."""

from __future__ import annotations

import pytest

from dataflow.extract.repair import TextRepairConfig, repair_text

DEFAULT = TextRepairConfig()
#: A news sentence: a few words of Chinese are ambiguous between GB18030 and EUC-KR bytes, a sentence is not.
ZH = "美国联邦储备委员会14日宣布，将联邦基金利率目标区间维持在5%至5.25%的水平不变，符合普遍预期。"


def as_cp1252(text: str, codec: str = "utf-8") -> str:
    """`text` the way a page shows it when its `codec` bytes are read as (WHATWG) cp1252."""
    return text.encode(codec).decode("sloppy-windows-1252")


@pytest.mark.parametrize(("broken", "repaired", "kinds"), [
    (as_cp1252("Café naïve — “quoted”"), "Café naïve — “quoted”", ["mojibake"]),
    ("Café".encode("utf-8").decode("latin-1"), "Café", ["mojibake"]),
    ("Fish &amp; chips &lt;3", "Fish & chips <3", ["html_entities"]),
    ("bell\x07 and\x1b[31m escape", "bell and escape", ["control_chars"]),
    ("cafe\u0301", "caf\u00e9", ["nfc"]),
    (as_cp1252("東京タワーは高さ333mの電波塔です。", "shift_jis"), "東京タワーは高さ333mの電波塔です。",
     ["legacy_cjk"]),
    (as_cp1252(ZH, "gb18030"), ZH, ["legacy_cjk"]),
    (as_cp1252("한국어 문장입니다.", "euc_kr"), "한국어 문장입니다.", ["legacy_cjk"]),
    # Cyrillic UTF-8 read as cp1252 is dense in high bytes too, and its bytes decode as GB18030: UTF-8 wins.
    (as_cp1252("Характеристики бега можно увеличить"), "Характеристики бега можно увеличить", ["mojibake"]),
], ids=["utf8_as_cp1252", "utf8_as_latin1", "html_entities", "control_chars", "nfc", "shift_jis_as_cp1252",
        "gb18030_as_cp1252", "euc_kr_as_cp1252", "utf8_cyrillic_as_cp1252"])
def test_each_kind_of_broken_text_is_repaired_and_counted(broken, repaired, kinds):
    assert broken != repaired
    assert repair_text(broken, DEFAULT) == (repaired, kinds)


@pytest.mark.parametrize("clean", [
    "Plain ASCII prose, with 3.5% & more.",
    "Le café est très bon, à côté de l'église; “curly” quotes stay.",
    "Größe, Straße, Übermaß — ﬁne ligature kept.",
    "東京タワーは高さ３３３ｍ（全角）の電波塔です。",
    "Москва — столица России.",
])
def test_clean_text_is_left_unchanged(clean):
    assert repair_text(clean, DEFAULT) == (clean, [])


def test_repair_can_be_switched_off():
    assert repair_text("Fish &amp; chips", TextRepairConfig(enabled=False)) == ("Fish &amp; chips", [])


def test_a_double_encoded_page_extracts_to_the_same_text_as_the_original(shared_data, tmp_path):
    """A CMS that stored UTF-8 read as cp1252, then served it as UTF-8: the extract stage repairs it."""
    from dataflow.extract.langid import default_model_path
    from dataflow.extract.records import ExtractConfig, extract_file
    from bench.common.warc_builder import Page, real_pages, write_warc

    (_, body), = [page for page in real_pages(shared_data, 60) if page[0].get("lang") == "de"][:1]
    original = body.decode("utf-8")
    broken = original.encode("utf-8").decode("sloppy-windows-1252").encode("utf-8")
    path = write_warc(tmp_path / "pages.warc.gz", [Page("http://real.example/original", body),
                                                   Page("http://real.example/broken", broken,
                                                        content_type="text/html; charset=utf-8")])
    rows = {row["url"]: row for batch in extract_file(str(path), ExtractConfig(), default_model_path())
            for row in batch.to_pylist() if row["url"]}
    good, repaired = rows["http://real.example/original"], rows["http://real.example/broken"]
    assert repaired["text"] == good["text"] and any(letter in good["text"] for letter in "äöüß")
    assert (good["text_fixes"], repaired["text_fixes"]) == ([], ["mojibake"])
