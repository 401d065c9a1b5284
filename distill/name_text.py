"""Name-rich text for the NER transfer stages: news-style sentence templates per language,
filled with Faker's locale names of people, places and companies.

Our real unlabelled text (UI strings, quotations) holds few names, and de and ru have no gold
tags: the student learns their names only from what the teacher says about them. These
sentences are unlabelled like the rest; the teacher tags them. Deterministic for a seed and
the pinned Faker version, so a build can be reproduced.
"""

from __future__ import annotations

from pathlib import Path

from distill.errors import EdgekitError
from distill.fsutil import atomic_dir

# language -> (Faker locale, templates); {per} {org} {loc} {country}
TEMPLATES: dict[str, tuple[str, list[str]]] = {
 "en": ("en_US", ["{per} met representatives of {org} in {loc} on Tuesday.",
   "{org} said on Monday that it would open a new office in {loc}.",
   "According to {per}, the talks between {org} and the government of {country} have stalled.",
   "{per}, who was born in {loc}, joined {org} in 2005.",
   "The mayor of {loc}, {per}, criticised the plan.",
   "Shares of {org} fell after {per} resigned as chief executive."]),
 "de": ("de_DE", ["{per} traf sich am Dienstag in {loc} mit Vertretern von {org}.",
   "{org} kündigte am Montag an, ein neues Büro in {loc} zu eröffnen.",
   "Nach Angaben von {per} sind die Gespräche zwischen {org} und der Regierung von "
   "{country} ins Stocken geraten.",
   "{per}, der in {loc} geboren wurde, kam 2005 zu {org}.",
   "Der Bürgermeister von {loc}, {per}, kritisierte den Plan.",
   "Die Aktien von {org} fielen, nachdem {per} als Vorstandschef zurückgetreten war."]),
 "ru": ("ru_RU", ["{per} заявил журналистам, что компания {org} откроет офис в городе {loc}.",
   "Компания {org} сообщила в понедельник о планах расширения в городе {loc}.",
   "Как заявил {per}, переговоры между компанией {org} и правительством страны {country} "
   "зашли в тупик.",
   "Мэр города {loc} {per} раскритиковал этот план.",
   "{per} родился в городе {loc} и в 2005 году начал работать в компании {org}.",
   "Акции компании {org} упали после того, как {per} покинул пост генерального директора."]),
 "es": ("es_ES", ["{per} se reunió el martes en {loc} con representantes de {org}.",
   "{org} anunció el lunes que abrirá una nueva oficina en {loc}.",
   "Según {per}, las negociaciones entre {org} y el gobierno de {country} se han estancado.",
   "{per}, nacido en {loc}, se incorporó a {org} en 2005.",
   "El alcalde de {loc}, {per}, criticó el plan.",
   "Las acciones de {org} cayeron después de que {per} dimitiera como consejero delegado."]),
 "pt": ("pt_BR", ["{per} reuniu-se na terça-feira em {loc} com representantes da {org}.",
   "A {org} anunciou na segunda-feira que vai abrir um novo escritório em {loc}.",
   "Segundo {per}, as negociações entre a {org} e o governo de {country} estão paradas.",
   "{per}, que nasceu em {loc}, entrou na {org} em 2005.",
   "O prefeito de {loc}, {per}, criticou o plano.",
   "As ações da {org} caíram depois que {per} deixou o cargo de presidente."]),
 "sv": ("sv_SE", ["{per} träffade på tisdagen representanter för {org} i {loc}.",
   "{org} meddelade på måndagen att företaget öppnar ett nytt kontor i {loc}.",
   "Enligt {per} har förhandlingarna mellan {org} och regeringen i {country} stannat av.",
   "{per}, som är född i {loc}, började på {org} år 2005.",
   "Kommunstyrelsens ordförande i {loc}, {per}, kritiserade planen.",
   "Aktien i {org} föll sedan {per} lämnat posten som vd."]),
 "fr": ("fr_FR", ["{per} a rencontré mardi à {loc} des représentants de {org}.",
   "{org} a annoncé lundi l'ouverture d'un nouveau bureau à {loc}.",
   "Selon {per}, les négociations entre {org} et le gouvernement de {country} sont au point mort.",
   "{per}, né à {loc}, a rejoint {org} en 2005.",
   "Le maire de {loc}, {per}, a critiqué le projet.",
   "L'action {org} a chuté après la démission de {per} de son poste de directeur général."]),
 "zh": ("zh_CN", ["{per}周二在{loc}会见了{org}的代表。",
   "{org}周一宣布将在{loc}开设新的办事处。",
   "据{per}说，{org}与{country}政府之间的谈判陷入僵局。",
   "{per}出生于{loc}，2005年加入{org}。",
   "{loc}市长{per}批评了这项计划。",
   "{per}辞去首席执行官职务后，{org}的股价下跌。"]),
}


def name_sentences(lang: str, count: int, seed: int = 0) -> list[str]:
    """`count` sentences in `lang`, the templates in turn, each with fresh names."""
    try:
        from faker import Faker
    except ImportError:
        raise EdgekitError("name text needs Faker: pip install 'edgekit[ner]'") from None
    if lang not in TEMPLATES:
        raise EdgekitError(f"no name templates for {lang!r}; have {', '.join(TEMPLATES)}")
    locale, templates = TEMPLATES[lang]
    fake = Faker(locale)
    fake.seed_instance(seed)
    city = fake.city_name if hasattr(fake, "city_name") else fake.city  # ru: no "г." prefix
    return [templates[i % len(templates)].format(per=fake.name(), org=fake.company(),
                                                 loc=city(), country=fake.country())
            for i in range(count)]


def write_name_text(out: Path, count: int = 3000, langs: list[str] | None = None,
                    seed: int = 0) -> list[Path]:
    """One file per language in `out` (named by the language, one sentence per line), for
    `--mono LANG=PATH`. Returns the files."""
    if count < 1:
        raise EdgekitError("--per-lang must be at least 1")
    langs = langs or list(TEMPLATES)
    texts = {lang: name_sentences(lang, count, seed) for lang in langs}
    with atomic_dir(Path(out)) as tmp:
        for lang, lines in texts.items():
            (tmp / lang).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [Path(out) / lang for lang in langs]
