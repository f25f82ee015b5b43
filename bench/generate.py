"""Generate a realistic newsroom archive in the NDJSON interchange format, the same bytes for the same args.

Usage: .venv/bin/python bench/generate.py --articles 50000 [--seed 1] --out var/bench/articles.ndjson

One seeded `random.Random` draws everything and dates are fixed (not "now"), so the benchmark's archive can
be cached by (articles, seed) and every run loads the same content. Text is drawn from real English,
Azerbaijani and Russian words, so searches in each language find what a newsroom's archive would hold.
"""

from __future__ import annotations

import argparse
import random
import sys
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from cms.content.slugs import slugify

# Ten years of publishing up to a fixed day, so the bytes never depend on when the generator runs; the
# scheduled articles are due months after it.
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=3652)
ARTICLES_PER_AUTHOR = 25
FUNCTION_WORD_WEIGHT = 8


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


@dataclass(frozen=True)
class Language:
    """The words, names and headline patterns of one language of the archive."""

    code: str
    share: float  # of original (untranslated) articles
    function_words: tuple[str, ...]
    words: tuple[str, ...]
    places: tuple[str, ...]
    where: tuple[str, ...]  # "in <place>", as the language says it
    topics: tuple[str, ...]
    adjectives: tuple[str, ...]
    organisations: tuple[str, ...]
    headlines: tuple[str, ...]  # templates over place, place2, where, topic, adj, org
    bio: str  # template over name and topic
    first_names: tuple[tuple[str, ...], tuple[str, ...]]  # (men, women)
    last_names: tuple[str, ...]  # men's form
    feminine: str  # the ending a woman's surname adds

    @cached_property
    def table(self) -> list[str]:
        """65,536 slots to draw words from uniformly; function words take more, as in real text."""
        pool = self.function_words * FUNCTION_WORD_WEIGHT + self.words
        return [pool[slot * len(pool) >> 16] for slot in range(1 << 16)]


ENGLISH = Language(
    code="en",
    share=0.72,
    function_words=_list(
        "the, the, of, and, to, in, a, on, for, with, that, by, as, at, from, is, was, were, has, have, "
        "will, said, it, its, their, this, new, more, than, over, after, year, per cent, million, also"
    ),
    words=_list(
        "government, ministry, minister, parliament, president, city, district, village, region, economy, "
        "oil, gas, energy, wind, solar, electricity, sea, coast, river, mountains, forest, water, climate, "
        "glaciers, culture, history, heritage, museum, carpets, music, books, literature, theatre, cinema, "
        "festival, exhibition, education, schools, university, students, teachers, science, researchers, "
        "study, project, programme, plan, budget, investment, bank, market, prices, exports, imports, trade, "
        "industry, agriculture, health, hospital, doctors, road, railway, trains, port, airport, transport, "
        "bridge, construction, restoration, development, cooperation, meeting, agreement, decision, law, "
        "session, elections, residents, citizens, young people, children, families, workers, specialists, "
        "experts, officials, event, conference, forum, report, statistics, data, news, agency, Caspian, "
        "Baku, Ganja, Sheki, Shusha, Lankaran, Guba, Nakhchivan, Karabakh, Azerbaijan, Europe, Turkey, "
        "Georgia, announced, opened, began, rose, fell, presented, approved, discussed, signed, continues, "
        "planned, expected, important, international, national, local, regional, traditional, modern, "
        "ancient, digital, environmental, social, economic, cultural, scientific, public, 2019, 2023, 12, 40"
    ),
    places=_list("Baku, Ganja, Sheki, Shusha, Lankaran, Guba, Nakhchivan, Sumgait, Gabala, Tbilisi, Vienna"),
    where=_list(
        "in Baku, in Ganja, in Sheki, in Shusha, in Lankaran, in Guba, in Nakhchivan, in Sumgait, in Gabala, "
        "in Tbilisi, in Vienna"
    ),
    topics=_list(
        "energy, water, rail, heritage, carpet, wine, tourism, school, museum, glacier, flood, budget, "
        "export, startup, chess, football, library, hospital, port, wind farm"
    ),
    adjectives=_list(
        "new, regional, digital, first, national, international, historic, green, annual, joint"
    ),
    organisations=_list("World Bank, UNESCO, EBRD, UNDP, the European Union, SOCAR"),
    headlines=(
        "{place} hosts {adj} {topic} festival",
        "{place} opens {adj} {topic} centre",
        "{Adj} {topic} plan approved for {place}",
        "{Topic} prices rise {where} as demand grows",
        "Researchers map {topic} risks around {place}",
        "{place} and {place2} sign {topic} agreement",
        "{org} backs {topic} project {where}",
        "What the {adj} {topic} strategy means for {place}",
    ),
    bio="{name} covers {topic} for the newsroom.",
    first_names=(
        _list(
            "James, Oliver, Daniel, Thomas, Michael, David, Peter, Andrew, Mark, Simon, Robert, Richard, "
            "Christopher, Matthew, Benjamin"
        ),
        _list(
            "Emma, Sophie, Hannah, Laura, Sarah, Rachel, Claire, Helen, Julia, Anna, Kate, Lucy, Alice, "
            "Rebecca, Eleanor"
        ),
    ),
    last_names=_list(
        "Smith, Johnson, Williams, Brown, Taylor, Wilson, Davies, Evans, Thomas, Roberts, Walker, Wright, "
        "Thompson, White, Hughes, Edwards, Green, Hall, Wood, Harris, Clarke, Jackson, Turner, Hill, Moore, "
        "Cooper, Ward, Morris, King, Baker"
    ),
    feminine="",
)

AZERBAIJANI = Language(
    code="az",
    share=0.16,
    function_words=_list(
        "və, bu, bir, ilə, üçün, da, də, isə, daha, çox, həm, ki, olan, olaraq, görə, sonra, əvvəl, artıq, "
        "hələ, həmçinin, bildirib, qeyd edib, olub, edilib, keçirilib, il, ildə, faiz, milyon, manat, yeni"
    ),
    words=_list(
        "hökumət, nazirlik, nazir, parlament, prezident, şəhər, rayon, kənd, region, iqtisadiyyat, neft, "
        "qaz, enerji, külək, günəş, elektrik, dəniz, sahil, çay, dağ, meşə, su, hava, iqlim, buzlaq, "
        "mədəniyyət, tarix, irs, muzey, xalça, musiqi, kitab, ədəbiyyat, teatr, kino, festival, sərgi, "
        "təhsil, məktəb, universitet, tələbə, müəllim, elm, alim, tədqiqat, layihə, proqram, plan, büdcə, "
        "investisiya, bank, bazar, qiymət, ixrac, idxal, ticarət, sənaye, kənd təsərrüfatı, səhiyyə, "
        "xəstəxana, həkim, yol, dəmir yolu, qatar, liman, hava limanı, nəqliyyat, körpü, tikinti, bərpa, "
        "inkişaf, əməkdaşlıq, görüş, müqavilə, razılaşma, qərar, qanun, iclas, seçki, sakinlər, vətəndaşlar, "
        "gənclər, uşaqlar, ailələr, işçilər, mütəxəssislər, ekspertlər, nümayəndələr, tədbir, konfrans, "
        "forum, hesabat, statistika, məlumat, xəbər, agentlik, Xəzər, Bakı, Gəncə, Şəki, Şuşa, Lənkəran, "
        "Quba, Naxçıvan, Qarabağ, Azərbaycan, Avropa, Türkiyə, Gürcüstan, açılıb, başlayıb, artıb, azalıb, "
        "təqdim olunub, təsdiqlənib, müzakirə edilib, imzalanıb, davam edir, planlaşdırılır, gözlənilir, "
        "mühüm, beynəlxalq, milli, yerli, regional, ənənəvi, müasir, qədim, rəqəmsal, ekoloji, sosial, "
        "iqtisadi, mədəni, elmi, ictimai, 2019, 2023, 12, 40"
    ),
    places=_list("Bakı, Gəncə, Şəki, Şuşa, Lənkəran, Quba, Naxçıvan, Sumqayıt, Qəbələ, Mingəçevir"),
    where=_list(
        "Bakıda, Gəncədə, Şəkidə, Şuşada, Lənkəranda, Qubada, Naxçıvanda, Sumqayıtda, Qəbələdə, Mingəçevirdə"
    ),
    topics=_list(
        "enerji, su, dəmir yolu, irs, xalça, şərab, turizm, məktəb, muzey, buzlaq, daşqın, büdcə, ixrac, "
        "startap, şahmat, futbol, kitabxana, xəstəxana, liman, külək enerjisi"
    ),
    adjectives=_list("yeni, regional, rəqəmsal, ilk, milli, beynəlxalq, tarixi, yaşıl, illik, birgə"),
    organisations=_list("Dünya Bankı, UNESCO, Avropa İttifaqı, SOCAR, BMT-nin İnkişaf Proqramı"),
    headlines=(
        "{Where} {adj} {topic} festivalı keçirilir",
        "{Where} {adj} {topic} mərkəzi açılıb",
        "{place} üçün {adj} {topic} planı təsdiqlənib",
        "{Where} {topic} qiymətləri artıb",
        "Alimlər {place} ətrafında {topic} risklərini öyrənir",
        "{place} və {place2} {topic} sazişi imzalayıb",
        "{org} {where} {topic} layihəsini dəstəkləyir",
        "{Adj} {topic} strategiyası {place} üçün nə deməkdir",
    ),
    bio="{name} {topic} mövzusunda yazır.",
    first_names=(
        _list(
            "Rəşad, Elvin, Orxan, Tural, Kamran, Murad, Elşən, Vüsal, İlqar, Şahin, Cavid, Zaur, Fərid, "
            "Anar, Əli, Nicat, Ramin, Emin, Səməd, Taleh"
        ),
        _list(
            "Fidan, Aysel, Leyla, Nigar, Günel, Səbinə, Nərmin, Aynur, Könül, Ülviyyə, Lalə, Aygün, Şəbnəm, "
            "Sevinc, Gülnar, Xədicə, Zəhra, Nərgiz, Arzu, Türkan"
        ),
    ),
    last_names=_list(
        "Məmmədov, Əliyev, Hüseynov, Həsənov, Quliyev, İsmayılov, Abdullayev, Rzayev, Babayev, Kərimov, "
        "Nəsirov, Cəfərov, Əhmədov, Orucov, Süleymanov, Vəliyev, Qasımov, Bağırov, Mustafayev, Rəhimov"
    ),
    feminine="a",
)

RUSSIAN = Language(
    code="ru",
    share=0.12,
    function_words=_list(
        "и, в, на, с, по, для, что, также, это, не, из, о, к, как, его, их, при, после, до, более, около, "
        "уже, ещё, года, году, лет, процентов, миллионов, манатов, новый, новые"
    ),
    words=_list(
        "правительство, министерство, министр, парламент, президент, город, района, село, регион, экономика, "
        "нефть, газ, энергия, ветер, солнечной, электроэнергии, море, побережье, река, горы, лес, вода, "
        "климат, ледники, культура, история, наследие, музей, ковры, музыка, книги, литература, театр, кино, "
        "фестиваль, выставка, образование, школа, университет, студенты, учителя, наука, учёные, "
        "исследование, проект, программа, план, бюджет, инвестиции, банк, рынок, цены, экспорт, импорт, "
        "торговля, промышленность, сельское хозяйство, здравоохранение, больница, врачи, дорога, "
        "железная дорога, поезд, порт, аэропорт, транспорт, мост, строительство, реставрация, развитие, "
        "сотрудничество, встреча, соглашение, решение, закон, заседание, выборы, жители, граждане, "
        "молодёжь, дети, семьи, работники, специалисты, эксперты, представители, мероприятие, конференция, "
        "форум, доклад, статистика, данные, новости, агентство, Каспийское, Баку, Гянджа, Шеки, Шуша, "
        "Ленкорань, Губа, Нахчыван, Карабах, Азербайджан, Европа, Турция, Грузия, сообщил, заявил, отметил, "
        "открылся, начался, прошёл, выросли, снизились, представлен, утверждён, обсуждается, подписано, "
        "продолжается, планируется, ожидается, важный, международный, национальный, местные, региональный, "
        "традиционный, современный, древний, цифровой, экологический, социальный, экономический, "
        "культурный, научный, общественный, 2019, 2023, 12, 40"
    ),
    places=_list("Баку, Гянджа, Шеки, Шуша, Ленкорань, Губа, Нахчыван, Сумгайыт, Габала, Мингечевир"),
    where=_list(
        "в Баку, в Гяндже, в Шеки, в Шуше, в Ленкорани, в Губе, в Нахчыване, в Сумгайыте, в Габале, "
        "в Мингечевире"
    ),
    topics=_list(
        "энергетики, водных ресурсов, железных дорог, наследия, ковроткачества, виноделия, туризма, "
        "образования, музеев, ледников, паводков, бюджета, экспорта, стартапов, шахмат, футбола, библиотек, "
        "здравоохранения, портов, ветроэнергетики"
    ),
    adjectives=_list(
        "новый, региональный, цифровой, первый, национальный, международный, исторический, зелёный, "
        "ежегодный, совместный"
    ),
    organisations=_list("Всемирный банк, ЮНЕСКО, Евросоюз, SOCAR, ПРООН"),
    headlines=(
        "{Where} прошёл {adj} фестиваль {topic}",
        "{Where} открылся {adj} центр {topic}",
        "Утверждён {adj} план развития {topic} {where}",
        "Эксперты оценили риски для {topic} {where}",
        "{place} и {place2} подписали соглашение в сфере {topic}",
        "{org} поддержит проект развития {topic} {where}",
        "Статистика {topic} {where}: итоги года",
        "Как {adj} план {topic} изменит жизнь {where}",
    ),
    bio="{name} пишет о темах {topic}.",
    first_names=(
        _list(
            "Алексей, Дмитрий, Сергей, Андрей, Михаил, Иван, Николай, Павел, Артём, Максим, Игорь, Олег, "
            "Владимир, Евгений, Роман"
        ),
        _list(
            "Анна, Мария, Екатерина, Ольга, Наталья, Елена, Татьяна, Ирина, Светлана, Юлия, Дарья, Ксения, "
            "Полина, Вера, Алина"
        ),
    ),
    last_names=_list(
        "Иванов, Смирнов, Кузнецов, Попов, Васильев, Петров, Соколов, Михайлов, Новиков, Фёдоров, Морозов, "
        "Волков, Алексеев, Лебедев, Семёнов, Егоров, Павлов, Козлов, Степанов, Николаев"
    ),
    feminine="а",
)

LANGUAGES = (ENGLISH, AZERBAIJANI, RUSSIAN)

# Three levels, parents first: {root: {section: [subsections]}}.
CATEGORY_TREE: dict[str, dict[str, list[str]]] = {
    "World": {
        "Europe": ["European Union", "Balkans", "Eastern Europe"],
        "Asia": ["Central Asia", "China", "South Asia"],
        "Middle East": ["Turkey", "Iran"],
        "Americas": ["United States", "Latin America"],
        "Africa": [],
        "Culture": [],
    },
    "Azerbaijan": {
        "Politics": ["Parliament", "Elections", "Foreign Policy"],
        "Society": ["Education", "Health", "Migration"],
        "Culture": ["Heritage", "Music", "Literature", "Cinema"],
        "Regions": ["Karabakh", "Nakhchivan", "Ganja"],
    },
    "Business": {
        "Energy": ["Oil and Gas", "Renewables"],
        "Markets": ["Banking", "Trade"],
        "Transport": ["Railways", "Aviation", "Shipping"],
        "Technology": ["Telecoms", "Startups"],
    },
    "Science": {"Climate": ["Caspian Sea", "Glaciers"], "Space": [], "Archaeology": []},
    "Sport": {"Football": ["Premier League", "National Team"], "Chess": [], "Wrestling": []},
    "Opinion": {"Editorials": [], "Columns": [], "Letters": []},
}

SOURCES: tuple[tuple[str, str, str | None], ...] = (
    ("Trend", "NEWS_AGENCY", "https://en.trend.az"),
    ("APA", "NEWS_AGENCY", "https://apa.az"),
    ("Report.az", "NEWS_AGENCY", "https://report.az"),
    ("AZERTAC", "NEWS_AGENCY", "https://azertag.az"),
    ("Turan", "NEWS_AGENCY", "https://www.turan.az"),
    ("Reuters", "NEWS_AGENCY", "https://www.reuters.com"),
    ("Associated Press", "NEWS_AGENCY", "https://apnews.com"),
    ("Agence France-Presse", "NEWS_AGENCY", "https://www.afp.com"),
    ("TASS", "NEWS_AGENCY", "https://tass.com"),
    ("Interfax", "NEWS_AGENCY", "https://www.interfax.ru"),
    ("Anadolu Agency", "NEWS_AGENCY", "https://www.aa.com.tr"),
    ("dpa", "NEWS_AGENCY", "https://www.dpa.com"),
    ("Xinhua", "NEWS_AGENCY", "https://english.news.cn"),
    ("The Guardian", "PUBLICATION", "https://www.theguardian.com"),
    ("Financial Times", "PUBLICATION", "https://www.ft.com"),
    ("The Economist", "PUBLICATION", "https://www.economist.com"),
    ("Le Monde", "PUBLICATION", "https://www.lemonde.fr"),
    ("Der Spiegel", "PUBLICATION", "https://www.spiegel.de"),
    ("Kommersant", "PUBLICATION", "https://www.kommersant.ru"),
    ("Vedomosti", "PUBLICATION", "https://www.vedomosti.ru"),
    ("Nature", "PUBLICATION", "https://www.nature.com"),
    ("Science", "PUBLICATION", "https://www.science.org"),
    ("UNESCO", "ORGANIZATION", "https://www.unesco.org"),
    ("UNDP", "ORGANIZATION", "https://www.undp.org"),
    ("World Bank", "ORGANIZATION", "https://www.worldbank.org"),
    ("International Monetary Fund", "ORGANIZATION", "https://www.imf.org"),
    ("World Health Organization", "ORGANIZATION", "https://www.who.int"),
    ("OSCE", "ORGANIZATION", "https://www.osce.org"),
    ("EBRD", "ORGANIZATION", "https://www.ebrd.com"),
    ("Asian Development Bank", "ORGANIZATION", "https://www.adb.org"),
    ("State Statistical Committee of Azerbaijan", "ORGANIZATION", "https://www.stat.gov.az"),
    ("Ministry of Culture of the Republic of Azerbaijan", "ORGANIZATION", "https://culture.gov.az"),
    ("SOCAR", "ORGANIZATION", "https://www.socar.az"),
    ("European Commission", "ORGANIZATION", "https://commission.europa.eu"),
    ("Wikipedia", "WEBSITE", "https://www.wikipedia.org"),
    ("OpenStreetMap", "WEBSITE", "https://www.openstreetmap.org"),
    ("Our World in Data", "WEBSITE", "https://ourworldindata.org"),
    ("Elnara Rustamova", "PERSON", None),
    ("Viktor Orlov", "PERSON", None),
    ("Company press release", "OTHER", None),
)
ROLES_BY_KIND = {
    "NEWS_AGENCY": ("WIRE", "WIRE", "ORIGIN"),
    "PUBLICATION": ("ORIGIN", "REFERENCE"),
    "ORGANIZATION": ("REFERENCE",),
    "WEBSITE": ("REFERENCE",),
    "PERSON": ("ORIGIN", "REFERENCE"),
    "OTHER": ("ORIGIN",),
}

TAGS = _list(
    "politics, economy, energy, oil, gas, renewables, climate, environment, caspian sea, water, agriculture, "
    "culture, heritage, carpets, music, literature, cinema, theatre, museums, festivals, archaeology, "
    "education, universities, health, science, research, technology, startups, telecoms, transport, "
    "railways, aviation, shipping, trade, exports, banking, markets, budget, tourism, sport, football, "
    "chess, wrestling, elections, parliament, diplomacy, european union, central asia, karabakh, "
    "reconstruction, mine clearance, migration, youth, cities, regions, baku, ganja, sheki, nakhchivan, "
    "digitization, statistics, infrastructure, glaciers, floods, wine, food, media, unesco, world bank"
)

# (status, share, dated, scheduled): ~90% published and visible, a few scheduled, the rest unpublished.
STATUSES = (
    ("PUBLISHED", 0.895, True, False),
    ("PUBLISHED", 0.01, True, True),
    ("DRAFT", 0.045, False, False),
    ("IN_REVIEW", 0.02, False, False),
    ("ARCHIVED", 0.03, True, False),
)
CORPUS_SIZE = 1 << 16  # sentences per language, chosen by two random bytes
MAX_SENTENCES = 160  # of at least 6 words: more than the longest body needs
TRANSLATION_SHARE = 0.12
RECENT_ORIGINALS = 300  # translations follow their original closely, as they do in a newsroom


@dataclass(frozen=True)
class References:
    """What articles may name: sources as (slug, kind, url), author slugs (also by language), categories."""

    sources: list[tuple[str, str, str | None]]
    authors: list[str]
    authors_by_language: dict[str, list[str]]
    categories: list[str]


@dataclass(frozen=True)
class Corpus:
    """One language's sentences and their word counts."""

    sentences: list[str]
    words: list[int]


@dataclass
class Original:
    """An untranslated article that later ones may translate."""

    slug: str
    languages: set[str]
    published_at: datetime | None
    status: str


class Archive:
    """One archive: every draw, in a fixed order, from one seeded generator."""

    def __init__(self, articles: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.articles = articles
        self.slugs: dict[str, set[str]] = defaultdict(set)
        self.corpora = {language.code: self.corpus(language) for language in LANGUAGES}

    def id(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(128):032x}"

    def unique(self, kind: str, text: str) -> str:
        """A slug not used yet by this kind: newsrooms add a number to a headline used before."""
        base = slugify(text)[:80].rstrip("-")
        slug, n = base, 1
        while slug in self.slugs[kind]:
            n += 1
            slug = f"{base}-{n}"
        self.slugs[kind].add(slug)
        return slug

    def lines(self) -> Iterator[bytes]:
        sources = [self.source(*spec) for spec in SOURCES]
        authors = [self.author() for _ in range(max(1, round(self.articles / ARTICLES_PER_AUTHOR)))]
        categories = list(self.categories())
        for item in (*sources, *(author for author, _ in authors), *categories):
            yield orjson.dumps(item) + b"\n"
        refs = References(
            sources=[(s["slug"], s["kind"], s["url"]) for s in sources],
            authors=[a["slug"] for a, _ in authors],
            authors_by_language={
                language.code: [a["slug"] for a, code in authors if code == language.code]
                for language in LANGUAGES
            },
            categories=[c["slug"] for c in categories],
        )
        for article in self.article_dicts(refs):
            yield orjson.dumps(article) + b"\n"

    def source(self, name: str, kind: str, url: str | None) -> dict[str, Any]:
        return {
            "type": "source",
            "id": self.id("src"),
            "slug": self.unique("source", name),
            "name": name,
            "kind": kind,
            "url": url,
        }

    def author(self) -> tuple[dict[str, Any], str]:
        """An author and the language they write in."""
        rng = self.rng
        language = rng.choices(LANGUAGES, weights=(0.5, 0.3, 0.2))[0]
        woman = rng.random() < 0.5
        first = rng.choice(language.first_names[woman])
        last = rng.choice(language.last_names) + (language.feminine if woman else "")
        name = f"{first} {last}"
        if slugify(name) in self.slugs["author"]:  # a namesake: the byline carries a middle initial
            name = f"{first} {rng.choice(language.first_names[not woman])[0]}. {last}"
        slug = self.unique("author", name)
        bio = (
            language.bio.format(name=name, topic=rng.choice(language.topics)) if rng.random() < 0.6 else None
        )
        author = {
            "type": "author",
            "id": self.id("aut"),
            "slug": slug,
            "name": name,
            "bio": bio,
            "avatarUrl": f"https://images.example.org/authors/{slug}.jpg" if rng.random() < 0.5 else None,
            "email": f"{slug}@news.example.org" if rng.random() < 0.7 else None,
        }
        return author, language.code

    def categories(self) -> Iterator[dict[str, Any]]:
        for root, sections in CATEGORY_TREE.items():
            root_slug = self.category_slug(root, None)
            yield self.category(root_slug, root, None)
            for section, subsections in sections.items():
                section_slug = self.category_slug(section, root_slug)
                yield self.category(section_slug, section, root_slug)
                for subsection in subsections:
                    yield self.category(
                        self.category_slug(subsection, section_slug), subsection, section_slug
                    )

    def category_slug(self, name: str, parent: str | None) -> str:
        """Category slugs are unique across the tree: a name used on another branch takes its parent's."""
        taken = slugify(name) in self.slugs["category"]
        return self.unique("category", f"{parent} {name}" if taken and parent else name)

    def category(self, slug: str, name: str, parent: str | None) -> dict[str, Any]:
        description = f"News and analysis: {name}." if self.rng.random() < 0.5 else None
        return {
            "type": "category",
            "id": self.id("cat"),
            "slug": slug,
            "name": name,
            "description": description,
            "parent": parent,
        }

    def article_dicts(self, refs: References) -> Iterator[dict[str, Any]]:
        """Articles in order of writing; a translation always comes after its original."""
        rng = self.rng
        seconds = int((UNTIL - SINCE).total_seconds())
        moments = sorted(SINCE + timedelta(seconds=rng.randrange(seconds)) for _ in range(self.articles))
        originals: list[Original] = []
        for moment in moments:
            original = self.translatable(originals)
            if original is None:
                language = rng.choices(LANGUAGES, weights=[lang.share for lang in LANGUAGES])[0]
            else:
                language = rng.choice([lang for lang in LANGUAGES if lang.code not in original.languages])
            article = self.article(language, moment, original, refs)
            if original is None:
                published_at = article["publishedAt"] and datetime.fromisoformat(article["publishedAt"])
                originals.append(Original(article["slug"], {language.code}, published_at, article["status"]))
            else:
                original.languages.add(language.code)
            yield article

    def translatable(self, originals: list[Original]) -> Original | None:
        """Now and then, a recent original still missing a language gets translated."""
        if not originals or self.rng.random() >= TRANSLATION_SHARE:
            return None
        original = self.rng.choice(originals[-RECENT_ORIGINALS:])
        return original if len(original.languages) < len(LANGUAGES) else None

    def article(
        self, language: Language, moment: datetime, original: Original | None, refs: References
    ) -> dict[str, Any]:
        rng = self.rng
        title = self.headline(language)
        same_slug = original is not None and rng.random() < 0.5
        slug = original.slug if original and same_slug else self.unique("article", title)
        status, dated, scheduled = self.status(original)
        published_at = moment
        if scheduled:
            published_at = UNTIL + timedelta(days=rng.randrange(90, 365), minutes=rng.randrange(1440))
        elif original and original.published_at:
            published_at = original.published_at + timedelta(hours=rng.randrange(30))
        category = rng.choice(refs.categories) if rng.random() < 0.99 else None
        return {
            "type": "article",
            "id": self.id("art"),
            "slug": slug,
            "language": language.code,
            "title": title,
            "subtitle": self.sentence(language, 8, 14, end="") if rng.random() < 0.4 else None,
            "excerpt": self.sentence(language, 20, 35) if rng.random() < 0.3 else None,
            "body": self.body(language, refs),
            "status": status,
            "publishedAt": published_at.isoformat() if dated else None,
            "authors": self.byline(language, refs),
            "category": category,
            "tags": rng.sample(TAGS, rng.choices((1, 2, 3, 4), weights=(2, 4, 3, 1))[0]),
            "sources": self.attributions(refs),
            "coverImage": self.cover(language, slug, moment) if rng.random() < 0.6 else None,
            "seo": self.seo(language, slug, category) if rng.random() < 0.3 else None,
            "translationOf": original.slug if original else None,
        }

    def status(self, original: Original | None) -> tuple[str, bool, bool]:
        """(status, dated, scheduled): a translation of a published story is, as a rule, published too."""
        if original is not None and original.status == "PUBLISHED" and self.rng.random() < 0.9:
            return "PUBLISHED", True, False
        status, _, dated, scheduled = self.rng.choices(STATUSES, weights=[s[1] for s in STATUSES])[0]
        return status, dated, scheduled

    def headline(self, language: Language) -> str:
        rng = self.rng
        place, place2 = rng.sample(language.places, 2)
        topic, adj, where = (
            rng.choice(words) for words in (language.topics, language.adjectives, language.where)
        )
        org = rng.choice(language.organisations)
        title = rng.choice(language.headlines).format(
            place=place,
            place2=place2,
            where=where,
            topic=topic,
            adj=adj,
            org=org,
            Where=_cap(where),
            Topic=_cap(topic),
            Adj=_cap(adj),
        )
        return _cap(title)

    def sentence(self, language: Language, shortest: int, longest: int, end: str = ".") -> str:
        return _cap(" ".join(self.draw(language, self.rng.randint(shortest, longest)))) + end

    def draw(self, language: Language, count: int) -> list[str]:
        """`count` words, two random bytes choosing each from the language's table (C speed)."""
        return list(map(language.table.__getitem__, self.indices(count)))

    def indices(self, count: int) -> array[int]:
        """`count` random numbers below 65,536 in one call."""
        numbers = array("H", self.rng.getrandbits(16 * count).to_bytes(2 * count, "little"))
        if sys.byteorder == "big":
            numbers.byteswap()
        return numbers

    def corpus(self, language: Language) -> Corpus:
        """Sentences of 6-22 words with a comma now and then, drawn once: a body then costs a few joins."""
        rand = self.rng.random
        corpus = Corpus([], [])
        for _ in range(CORPUS_SIZE):
            count = 6 + int(rand() * 17)
            words = self.draw(language, count)
            if count > 12:
                words[3 + int(rand() * (count - 6))] += ","
            text = " ".join(words)
            corpus.sentences.append(text[0].upper() + text[1:] + ".")
            corpus.words.append(text.count(" ") + 1)
        return corpus

    def body(self, language: Language, refs: References) -> str:
        """400-900 words of Markdown: paragraphs, a heading or two, links, emphasis, now and then a list."""
        rng = self.rng
        corpus = self.corpora[language.code]
        picks = self.indices(MAX_SENTENCES)
        written = list(accumulate(map(corpus.words.__getitem__, picks)))
        chosen = list(
            map(corpus.sentences.__getitem__, picks[: bisect_left(written, rng.randint(400, 820)) + 1])
        )
        blocks: list[str] = []
        list_at = rng.randrange(2, 6) if rng.random() < 0.2 else -1
        while chosen:
            if len(blocks) == list_at:
                items = (self.sentence(language, 3, 6, end="") for _ in range(rng.randint(3, 5)))
                blocks.append("\n".join(f"- {item}" for item in items))
            elif blocks and len(blocks) % 4 == 0 and rng.random() < 0.6:
                blocks.append("## " + self.sentence(language, 2, 5, end=""))
            size = 3 + int(rng.random() * 5)
            blocks.append(self.paragraph(chosen[:size], refs))
            del chosen[:size]
        return "\n\n".join(blocks)

    def paragraph(self, sentences: list[str], refs: References) -> str:
        """Sentences with, now and then, an emphasised word and a link over three words."""
        rand = self.rng.random
        if rand() < 0.5:
            words = sentences[(at := int(rand() * len(sentences)))].split(" ")
            word, end = _bare(words[(pick := int(rand() * len(words)))])
            words[pick] = f"**{word}**{end}" if rand() < 0.3 else f"*{word}*{end}"
            sentences[at] = " ".join(words)
        if rand() < 0.5:
            words = sentences[(at := int(rand() * len(sentences)))].split(" ")
            word, end = _bare(words[(pick := int(rand() * (len(words) - 2))) + 2])
            site = refs.sources[int(rand() * len(refs.sources))][2] or "https://news.example.org"
            words[pick] = f"[{words[pick]}"
            words[pick + 2] = f"{word}]({site}/{100000 + int(rand() * 900000)}){end}"
            sentences[at] = " ".join(words)
        return " ".join(sentences)

    def byline(self, language: Language, refs: References) -> list[str]:
        """1-3 authors, mostly from the desk that writes in the article's language."""
        rng = self.rng
        count = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
        desk = refs.authors_by_language[language.code]
        pool = desk if desk and rng.random() < 0.8 else refs.authors
        return list(dict.fromkeys(rng.choice(pool) for _ in range(count)))

    def attributions(self, refs: References) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices((0, 1, 2, 3), weights=(15, 45, 30, 10))[0]
        cited = []
        for slug, kind, url in rng.sample(refs.sources, count):
            page = f"{url}/articles/{rng.randrange(10**5, 10**6)}" if url and rng.random() < 0.5 else None
            note = f"Cited on page {rng.randint(1, 40)}" if rng.random() < 0.15 else None
            cited.append({"source": slug, "role": rng.choice(ROLES_BY_KIND[kind]), "url": page, "note": note})
        return cited

    def cover(self, language: Language, slug: str, moment: datetime) -> dict[str, Any]:
        rng = self.rng
        return {
            "url": f"https://images.example.org/{moment.year}/{slug}.jpg",
            "alt": self.sentence(language, 4, 9, end=""),
            "caption": self.sentence(language, 8, 16) if rng.random() < 0.7 else None,
            "credit": rng.choice(("Newsroom photo desk", "Reuters", "AFP", "AZERTAC", None)),
            "width": 1600,
            "height": rng.choice((900, 1067, 1200)),
        }

    def seo(self, language: Language, slug: str, category: str | None) -> dict[str, Any]:
        rng = self.rng
        return {
            "title": self.sentence(language, 5, 9, end="") if rng.random() < 0.7 else None,
            "description": self.sentence(language, 15, 25) if rng.random() < 0.7 else None,
            "canonicalUrl": f"https://news.example.org/{language.code}/{category or 'news'}/{slug}",
        }


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bare(word: str) -> tuple[str, str]:
    """A word and the punctuation after it, so markup goes around the word only."""
    core = word.rstrip(".,")
    return core, word[len(core) :]


def archive_lines(articles: int, seed: int = 1) -> Iterator[bytes]:
    """The archive's NDJSON lines: sources, authors, categories (parents first), then articles."""
    return Archive(articles, seed).lines()


def write_archive(path: Path, articles: int, seed: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.writelines(archive_lines(articles, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_archive(args.out, args.articles, args.seed)


if __name__ == "__main__":
    main()
