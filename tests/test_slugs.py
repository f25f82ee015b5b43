"""Slugs: the transliteration pinned as it was with unidecode (URLs must not move when the library changes),
and the one rule that makes a taken slug free within MAX_SLUG."""

from __future__ import annotations

import pytest
from anyascii import anyascii

from cms.content.slugs import KEPT, MAX_SLUG, SLUG_RE, first_free, name_slug, slugify, taken_prefix

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


BASES = ["news", "a" * MAX_SLUG, "a" * 187 + "-" + "b" * 12, "a" * 188 + "-" + "b" * 11, "ab-" * 66 + "ab"]


@pytest.mark.parametrize("base", BASES)
def test_every_candidate_starts_with_the_prefix_taken_slugs_are_read_by(base: str) -> None:
    """Reading only the slugs that start with `taken_prefix` finds every one `first_free` asks about."""
    prefix = taken_prefix(base)
    taken = TakenBelow(base, 1234)
    slug = first_free(base, taken)
    assert slug.endswith("-1234")
    assert len(slug) <= MAX_SLUG
    assert len(taken.asked) == 1234
    assert [asked for asked in taken.asked if not asked.startswith(prefix)] == []
    assert len(prefix) == min(len(base), MAX_SLUG - 12)


@pytest.mark.parametrize("base", ["", "a" * (MAX_SLUG + 1)])
def test_first_free_refuses_what_is_no_slug(base: str) -> None:
    with pytest.raises(ValueError, match="not a slug"):
        first_free(base, set())
