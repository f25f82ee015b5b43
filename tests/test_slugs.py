"""Slugs: the transliteration pinned as it was with unidecode (URLs must not move when the library changes),
and the one rule that makes a taken slug free within MAX_SLUG, here for imports (the API's creates are in
test_article_mutations.py and test_references.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyascii import anyascii
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from cms.content.slugs import (
    KEPT,
    MAX_SLUG,
    SLUG_RE,
    first_free,
    may_be_taken,
    name_slug,
    slugify,
    taken_prefix,
)
from cms.files.errors import ContentFileError
from cms.files.importer import import_paths
from cms.models import Author, Category, Source
from tests.conftest import NOW, data

# Computed with the unidecode-based slugify before the switch to anyascii: published URLs, not to be changed.
AZERBAIJANI = {
    "Şəki bazarında yeni sərgi": "seki-bazarinda-yeni-sergi",
    "Xəbərlər: Gəncə": "xeberler-gence",
    "Şəki xəbərləri": "seki-xeberleri",
    "Qobustan rəqəmsal arxiv": "qobustan-reqemsal-arxiv",
    "İlham Əliyev Bakıda çıxış etdi": "ilham-eliyev-bakida-cixis-etdi",
    "Ağdam, Şuşa və Füzuli: bərpa işləri": "agdam-susa-ve-fuzuli-berpa-isleri",
    "Çörək qiymətləri artdı": "corek-qiymetleri-artdi",
    "Azərbaycan Respublikasının Prezidenti": "azerbaycan-respublikasinin-prezidenti",
    "Gənclər gününə həsr olunmuş tədbir": "gencler-gunune-hesr-olunmus-tedbir",
    "Ölkədə yağış gözlənilir": "olkede-yagis-gozlenilir",
    "Üzüm bağları, ipək yolu": "uzum-baglari-ipek-yolu",
    "ƏMƏLİYYAT: İĞDIR — ŞƏHƏR": "emeliyyat-igdir-seher",
    "Qarabağ 2024: «yeni» dövr": "qarabag-2024-yeni-dovr",
    "Bakı’nın küçələri": "bakinin-kuceleri",
    "Xocalı soyqırımının ildönümü": "xocali-soyqiriminin-ildonumu",
    "Neft Daşları 75 yaşında": "neft-daslari-75-yasinda",
    "“Sumqayıt” futbol klubu": "sumqayit-futbol-klubu",
    "Ələsgərin şeirləri": "elesgerin-seirleri",
    "Maaş 500 ₼-a qədər artır": "maas-500-m-a-qeder-artir",
}
RUSSIAN = {
    "Новости Баку": "novosti-baku",
    "Объявление о съезде": "obiavlenie-o-sezde",
    "Щедрый урожай в Шемахе": "shchedryi-urozhai-v-shemakhe",
    "Ёлка на площади": "iolka-na-ploshchadi",
    "Подъём экономики": "podiom-ekonomiki",
    "Юбилей Чайковского": "iubilei-chaikovskogo",
    "Язык и культура": "iazyk-i-kultura",
    "Эхо Кавказа": "ekho-kavkaza",
    "Жёлтый шарф и чёрный кот": "zhioltyi-sharf-i-chiornyi-kot",
    "Хорошая погода в Гяндже": "khoroshaia-pogoda-v-giandzhe",
    "Цифровой архив Гобустана": "tsifrovoi-arkhiv-gobustana",
    "Мировой рынок нефти: итоги года": "mirovoi-rynok-nefti-itogi-goda",
    "Президент Азербайджана встретился с делегацией": "prezident-azerbaidzhana-vstretilsia-s-delegatsiei",
    "Всё о выборах 2025 года": "vsio-o-vyborakh-2025-goda",
    "Съёмки фильма «Бакинские ночи»": "siomki-filma-bakinskie-nochi",
    "Ильхам Алиев": "ilkham-aliev",
    "Шуша — культурная столица": "shusha-kulturnaia-stolitsa",
    "Подъезд №5": "podezd-no-5",
    "Йогурт, йод и Йошкар-Ола": "iogurt-iod-i-ioshkar-ola",
    "Высокий уровень Каспия": "vysokii-uroven-kaspiia",
    "ЬЪ странные буквы": "strannye-bukvy",
    "Чемпионат мира по шахматам": "chempionat-mira-po-shakhmatam",
    "Цена 100 ₽ за литр бензина": "tsena-100-r-za-litr-benzina",
    "ЁЖИК И ЯНВАРЬ": "iozhik-i-ianvar",
    "Юг России": "iug-rossii",
    "№1 в мире": "no-1-v-mire",
    "Тбилиси — Ереван: 5 часов": "tbilisi-erevan-5-chasov",
    "Бакинский марафон-2025": "bakinskii-marafon-2025",
    "Гейдар Алиев": "geidar-aliev",
    "Мингечаур и Ленкорань": "mingechaur-i-lenkoran",
}
ACCENTED_LATIN = {
    "Café crème à Paris": "cafe-creme-a-paris",
    "Ångström naïve façade": "angstrom-naive-facade",
    "São Paulo e Brasília": "sao-paulo-e-brasilia",
    "Łódź, Kraków i Gdańsk": "lodz-krakow-i-gdansk",
    "Crème brûlée": "creme-brulee",
    "El niño y la señora": "el-nino-y-la-senora",
    "Dvořák's Symphony": "dvoraks-symphony",
    "Ærø og Øresund": "aero-og-oresund",
    "Þór and Ðóra": "thor-and-dora",
    "Čeština je krásná": "cestina-je-krasna",
}
GERMAN = {
    "Größe und Straße": "grosse-und-strasse",
    "Über die Brücke": "uber-die-brucke",
    "Fußball-Weltmeisterschaft 2026": "fussball-weltmeisterschaft-2026",
    "Äpfel, Öl und Übermut": "apfel-ol-und-ubermut",
    "Weißwurst & Brezn": "weisswurst-brezn",
}
TURKISH = {
    "İstanbul'da büyük buluşma": "istanbulda-buyuk-bulusma",
    "Iğdır ve Ağrı": "igdir-ve-agri",
    "Çağdaş Türk şiiri": "cagdas-turk-siiri",
    "Şişli'de güneşli gün": "sislide-gunesli-gun",
    "Kılıçdaroğlu açıklama yaptı": "kilicdaroglu-aciklama-yapti",
    "ığdır ışık İŞİK": "igdir-isik-isik",
}
PUNCTUATION = {
    "Prices rise 5% — €10 vs $12": "prices-rise-5-eur10-vs-12",
    "Rock 'n' roll": "rock-n-roll",
    "A  B   C": "a-b-c",
    "C++ & C#": "c-c",
    "100 km/h": "100-km-h",
    "Q&A: who’s next?": "q-a-whos-next",
}
ALPHABETS = {
    "а б в г д е ё ж з и й к л м н о п р с т у ф х ц ч ш щ ъ ы ь э ю я": (
        "a-b-v-g-d-e-io-zh-z-i-i-k-l-m-n-o-p-r-s-t-u-f-kh-ts-ch-sh-shch-y-e-iu-ia"
    ),
    "А Б В Г Д Е Ё Ж З И Й К Л М Н О П Р С Т У Ф Х Ц Ч Ш Щ Ъ Ы Ь Э Ю Я": (
        "a-b-v-g-d-e-io-zh-z-i-i-k-l-m-n-o-p-r-s-t-u-f-kh-ts-ch-sh-shch-y-e-iu-ia"
    ),
    "a b c ç d e ə f g ğ h x ı i j k q l m n o ö p r s ş t u ü v y z": (
        "a-b-c-c-d-e-e-f-g-g-h-x-i-i-j-k-q-l-m-n-o-o-p-r-s-s-t-u-u-v-y-z"
    ),
    "A B C Ç D E Ə F G Ğ H X I İ J K Q L M N O Ö P R S Ş T U Ü V Y Z": (
        "a-b-c-c-d-e-e-f-g-g-h-x-i-i-j-k-q-l-m-n-o-o-p-r-s-s-t-u-u-v-y-z"
    ),
}
PINNED = AZERBAIJANI | RUSSIAN | ACCENTED_LATIN | GERMAN | TURKISH | PUNCTUATION | ALPHABETS


@pytest.mark.parametrize("title", PINNED)
def test_slugs_are_those_published_before(title: str) -> None:
    assert slugify(title) == PINNED[title]


def test_a_slug_is_cut_at_the_limit_with_no_trailing_hyphen() -> None:
    assert slugify("Щ" * 300) == "shch" * 50
    cut = slugify("word " * 100)
    assert len(cut) <= MAX_SLUG
    assert SLUG_RE.match(cut)
    assert cut == "-".join(["word"] * 40)


def test_a_title_of_nothing_but_punctuation_gives_no_slug() -> None:
    assert slugify("!!! — ???") == ""


@pytest.mark.parametrize("character", [chr(code) for code in KEPT])
def test_each_kept_character_is_one_anyascii_renders_otherwise(character: str) -> None:
    """The table of characters kept as before holds only what it must."""
    assert anyascii(character) != KEPT[ord(character)]


def test_a_name_is_matched_by_its_slug_only_when_the_slug_holds_all_of_it() -> None:
    assert name_slug("Fidan Abdullayeva") == "fidan-abdullayeva"
    assert name_slug("a" * MAX_SLUG) == "a" * MAX_SLUG
    assert name_slug("a" * MAX_SLUG + " b") == ""


# ---------------------------------------------------------------- first_free


def test_first_free_is_the_base_while_it_is_free() -> None:
    assert first_free("news", set()) == "news"
    assert first_free("news", {"news-2", "other"}) == "news"


def test_first_free_counts_up_from_two() -> None:
    assert first_free("news", {"news"}) == "news-2"
    assert first_free("news", {"news", "news-2", "news-3"}) == "news-4"
    assert first_free("part-2", {"part-2"}) == "part-2-2"


@pytest.mark.parametrize("length", [MAX_SLUG, MAX_SLUG - 1, MAX_SLUG - 2, MAX_SLUG - 5])
def test_first_free_cuts_the_base_to_stay_within_the_limit(length: int) -> None:
    base = "a" * length
    taken = {base}
    for number in range(2, 1002):
        slug = first_free(base, taken)
        assert slug.endswith(f"-{number}")
        assert len(slug) <= MAX_SLUG
        assert SLUG_RE.match(slug)
        taken.add(slug)
    assert first_free(base, {base}) == "a" * min(length, MAX_SLUG - 2) + "-2"


def test_a_cut_that_ends_on_a_hyphen_drops_it() -> None:
    base = "a" * 197 + "-bc"
    assert first_free(base, {base}) == "a" * 197 + "-2"
    assert first_free(base, {base, "a" * 197 + "-2"}) == "a" * 197 + "-3"


class TakenBelow:
    """A `taken` in which the base and every candidate below `-{number}` are taken; it records what it was
    asked about."""

    def __init__(self, base: str, number: int) -> None:
        self.base, self.free, self.asked = base, f"-{number}", list[str]()

    def __contains__(self, slug: object) -> bool:
        assert isinstance(slug, str)
        self.asked.append(slug)
        return slug == self.base or not slug.endswith(self.free)


BASES = [
    "news",
    "a" * 187,
    "a" * 188,
    "a" * 189,
    "a" * MAX_SLUG,
    "a" * 187 + "-" + "b" * 12,
    "ab-" * 66 + "ab",
]


@pytest.mark.parametrize("base", BASES)
def test_every_candidate_is_the_base_or_starts_with_the_prefix_taken_slugs_are_read_by(base: str) -> None:
    """Reading the base and the slugs that start with `taken_prefix` finds every one `first_free` asks
    about."""
    prefix = taken_prefix(base)
    taken = TakenBelow(base, 1234)
    slug = first_free(base, taken)
    assert slug.endswith("-1234")
    assert len(slug) <= MAX_SLUG
    assert len(taken.asked) == 1234
    assert [asked for asked in taken.asked[1:] if not asked.startswith(prefix)] == []
    assert taken.asked[0] == base


def test_a_short_base_reads_only_itself_and_its_numbered_slugs() -> None:
    assert taken_prefix("news") == "news-"
    assert taken_prefix("a" * 188) == "a" * 188 + "-"
    assert taken_prefix("a" * 189) == "a" * 188


@pytest.mark.parametrize("base", BASES)
def test_may_be_taken_selects_what_first_free_asks_about_and_not_other_stories(base: str) -> None:
    asked = TakenBelow(base, 150)
    first_free(base, asked)
    others = ["newsletter", "new", "a" * 186, "ab-ab", "b" + base[1:]]
    table = Table("item", MetaData(), Column("slug", String(MAX_SLUG), primary_key=True))
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(insert(table), [{"slug": s} for s in {*asked.asked, *others}])
        found = set(
            connection.execute(select(table.c.slug).where(may_be_taken(table.c.slug, base))).scalars()
        )
    assert found == set(asked.asked)
    engine.dispose()


@pytest.mark.parametrize("base", ["", "a" * (MAX_SLUG + 1)])
def test_first_free_refuses_what_is_no_slug(base: str) -> None:
    with pytest.raises(ValueError, match="not a slug"):
        first_free(base, set())


# ---------------------------------------------------------------- imports


def article_file(folder: Path, name: str, **front_matter: Any) -> Path:
    path = folder / f"{name}.md"
    meta = json.dumps({"title": name, **front_matter}, ensure_ascii=False)  # JSON is YAML
    path.write_text(f"---\n{meta}\n---\nBody of {name}.\n", encoding="utf-8")
    return path


async def slugs_of(engine: AsyncEngine, model: Any) -> dict[str, str]:
    """name -> slug of every row."""
    async with engine.connect() as connection:
        return dict((await connection.execute(select(model.name, model.slug))).all())


LONG = "Щ" * 60
"""Names that start with it give the same slug: `shch` * 50, cut at MAX_SLUG."""
ALPHA, BETA, GAMMA = f"{LONG} Alpha", f"{LONG} Beta", f"{LONG} Gamma"
CUT = "shch" * 50
READ = {
    model: f"query ($slug: String!) {{ {model.__name__.lower()}(slug: $slug) {{ name }} }}"
    for model in (Author, Category, Source)
}


async def test_imported_names_with_one_long_slug_are_different_items_with_numbered_slugs(
    engine: AsyncEngine, editor: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Authors, sources and categories created from an import's references: names whose slugs are cut to
    the same 200 characters are not taken for one another, and the second and third get `-2` and `-3`."""
    files = [
        article_file(tmp_path, "one", authors=[ALPHA], sources=[{"name": ALPHA}], category=[ALPHA]),
        article_file(tmp_path, "two", authors=[BETA], sources=[{"name": BETA}], category=[BETA]),
        article_file(tmp_path, "three", authors=[GAMMA, ALPHA], sources=[{"name": GAMMA}], category=[GAMMA]),
    ]
    summary = await import_paths(engine, files, actor="test", now=NOW)
    assert summary.articles["created"] == 3
    expected = {ALPHA: CUT, BETA: CUT[:198] + "-2", GAMMA: CUT[:198] + "-3"}
    for model in (Author, Source, Category):
        assert await slugs_of(engine, model) == expected, model.__name__
        for name, slug in expected.items():
            assert (await data(editor, READ[model], {"slug": slug}))[model.__name__.lower()] == {"name": name}
    query = "query ($slug: String!) { article(slug: $slug) { authors { slug } } }"
    authors = (await data(editor, query, {"slug": "three"}))["article"]["authors"]
    assert authors == [{"slug": expected[GAMMA]}, {"slug": CUT}], "a name seen before is that item again"
    again = await import_paths(engine, files, actor="test", now=NOW)
    assert again.articles["unchanged"] == 3
    for model in (Author, Source, Category):
        assert await slugs_of(engine, model) == expected, "each name is matched again, by name"


async def test_imported_categories_on_other_branches_take_the_parent_slug_then_a_number(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A category's name taken on another branch: its parent's slug in front (`world-culture`), or, when
    that is taken too or too long to hold both, the first free number after the name's slug."""
    long_parent = "Ж" * 100  # zh * 100: a slug of 200 characters
    paths = [
        ["Azerbaijan", "Culture"],
        ["World", "Culture"],
        ["Culture"],
        ["World Culture"],
        ["Europe", "World Culture"],
        [long_parent, "Culture"],
        [long_parent, ALPHA],
        [ALPHA],
        [long_parent, f"{long_parent} {BETA}"],
    ]
    files = [article_file(tmp_path, f"story-{n}", category=path) for n, path in enumerate(paths)]
    await import_paths(engine, files, actor="test", now=NOW)
    assert await category_paths(engine) == {
        (None, "Azerbaijan"): "azerbaijan",
        ("Azerbaijan", "Culture"): "culture",
        (None, "World"): "world",
        ("World", "Culture"): "world-culture",
        (None, "Culture"): "culture-2",
        (None, "World Culture"): "world-culture-2",
        (None, "Europe"): "europe",
        ("Europe", "World Culture"): "europe-world-culture",
        (None, long_parent): "zh" * 100,
        (long_parent, "Culture"): "culture-3",
        (long_parent, ALPHA): CUT,
        (None, ALPHA): CUT[:198] + "-2",
        (long_parent, f"{long_parent} {BETA}"): "zh" * 99 + "-2",
    }
    await import_paths(engine, files, actor="test", now=NOW)
    assert len(await category_paths(engine)) == 13, "the same paths again are the same categories"


async def category_paths(engine: AsyncEngine) -> dict[tuple[str | None, str], str]:
    """(parent's name, name) -> slug of every category."""
    async with engine.connect() as connection:
        statement = select(col(Category.id), col(Category.name), col(Category.slug), col(Category.parent_id))
        rows = (await connection.execute(statement)).all()
    names = {row.id: row.name for row in rows}
    return {(names.get(row.parent_id), row.name): row.slug for row in rows}


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ({"authors": ["Fidan Abdullayeva", "!!!"]}, "the author name '!!!' gives no slug"),
        ({"sources": [{"name": "—"}]}, "the source name '—' gives no slug"),
        ({"category": ["World", "???"]}, "the category name '???' gives no slug"),
        ({"authors": ["Ş" * 201]}, "the author's name is longer than 200 characters"),
        ({"category": ["x" * 201]}, "the category's name is longer than 200 characters"),
    ],
)
async def test_an_imported_name_that_gives_no_slug_or_is_too_long_stops_the_import(
    engine: AsyncEngine, tmp_path: Path, front_matter: dict[str, Any], message: str
) -> None:
    """Not an item with an empty slug (that every other such name would then be taken for), nor one that
    PostgreSQL refuses in the middle of the write: the file and line, and nothing written."""
    path = article_file(tmp_path, "story", **front_matter)
    with pytest.raises(ContentFileError) as stopped:
        await import_paths(engine, [path], actor="test", now=NOW)
    assert str(stopped.value) == f"{path}:1: {message}"
    for model in (Author, Source, Category):
        assert await slugs_of(engine, model) == {}


async def test_an_ndjson_item_with_a_name_too_long_stops_the_import(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "items.ndjson"
    lines = [
        {"type": "author", "slug": "fine", "name": "Fine"},
        {"type": "source", "slug": "long", "name": "S" * 201, "kind": "OTHER", "url": None},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(ContentFileError) as stopped:
        await import_paths(engine, [path], actor="test", now=NOW)
    assert str(stopped.value) == f"{path}:2: the source's name is longer than 200 characters"
    assert await slugs_of(engine, Author) == {}
