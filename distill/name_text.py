"""Name-rich text for the NER transfer stages: news-style sentence templates per language,
filled with Faker's names of people, places, companies and institutions.

Our real unlabelled text (UI strings, quotations) holds few names, and de and ru have no gold
tags: the student learns their names only from what the teacher says about them. These
sentences are unlabelled like the rest; the teacher tags them. News, like Universal NER's PUD,
names foreign people and places too, so a share of the names come from other locales; country
names always come from the sentence's own language. Deterministic for a seed and the pinned
Faker version, so a build can be reproduced.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from distill.errors import EdgekitError
from distill.fsutil import atomic_dir

# language -> Faker locales and their weights; the first is the language's own.
# ru and zh have no foreign-script locales: a name in another script would not be news style.
LOCALES: dict[str, dict[str, float]] = {
    "en": {"en_US": 0.6, "en_GB": 0.15, "de_DE": 0.05, "fr_FR": 0.05, "es_ES": 0.05,
           "it_IT": 0.05, "nl_NL": 0.05},
    "de": {"de_DE": 0.6, "de_AT": 0.1, "en_US": 0.2, "fr_FR": 0.05, "it_IT": 0.05},
    "ru": {"ru_RU": 0.85, "uk_UA": 0.15},
    "es": {"es_ES": 0.5, "es_MX": 0.2, "en_US": 0.2, "fr_FR": 0.1},
    "pt": {"pt_BR": 0.5, "pt_PT": 0.3, "en_US": 0.2},
    "sv": {"sv_SE": 0.65, "no_NO": 0.05, "da_DK": 0.05, "en_US": 0.2, "de_DE": 0.05},
    "fr": {"fr_FR": 0.6, "fr_CH": 0.1, "en_US": 0.2, "de_DE": 0.1},
    "zh": {"zh_CN": 0.5, "zh_TW": 0.5},
}

# language -> institution names: universities, councils, foundations, banks, clubs
INSTITUTIONS: dict[str, list[str]] = {
    "en": ["University of {loc}", "{loc} City Council", "{last} Foundation",
           "Central Bank of {country}", "{loc} Football Club", "{loc} Chamber of Commerce",
           "{last} Institute"],
    "de": ["Universität {loc}", "Stadtrat von {loc}", "{last}-Stiftung",
           "Zentralbank von {country}", "FC {loc}", "Industrie- und Handelskammer {loc}",
           "{last}-Institut"],
    "ru": ["Фонд «{last}»", "Банк «{loc}»", "Футбольный клуб «{loc}»", "Институт «{last}»",
           "Комитет «{loc} 2030»"],
    "es": ["Universidad de {loc}", "Ayuntamiento de {loc}", "Fundación {last}",
           "Banco Central de {country}", "Club Deportivo {loc}", "Cámara de Comercio de {loc}",
           "Instituto {last}"],
    "pt": ["Universidade de {loc}", "Câmara Municipal de {loc}", "Fundação {last}",
           "Banco Central de {country}", "Esporte Clube {loc}", "Instituto {last}"],
    "sv": ["{loc} universitet", "{loc} kommun", "{last}stiftelsen", "IFK {loc}",
           "Handelskammaren i {loc}", "{last}institutet"],
    "fr": ["Université de {loc}", "Conseil municipal de {loc}", "Fondation {last}",
           "Banque centrale de {country}", "Football Club de {loc}",
           "Chambre de commerce de {loc}", "Institut {last}"],
    "zh": ["{loc}大學", "{loc}市政府", "{last}氏基金會", "{country}中央銀行", "{loc}足球俱樂部",
           "{loc}商會", "{last}氏研究所"],
}

# language -> templates. Slots: {per} {per2} people; {last} {last2} surnames; {org} {org2}
# companies; {inst} institutions; {acr} an acronym; {loc} {loc2} cities; {region}; {country}.
# ru's verbs are masculine, so its people are men; other languages mix.
TEMPLATES: dict[str, list[str]] = {
 "en": ["{per} met representatives of {org} in {loc} on Tuesday.",
   "{org} said on Monday that it would open a new office in {loc}.",
   "According to {per}, the talks between {org} and the government of {country} have stalled.",
   "{per}, who was born in {loc}, joined {org} in 2005.",
   "The mayor of {loc}, {per}, criticised the plan.",
   "Shares of {org} fell after {per} resigned as chief executive.",
   "{last} told reporters in {loc} that {org} would cut 300 jobs.",
   "The {inst} said on Friday that {per} will lead the project.",
   "{per} and {per2} are expected to attend the summit in {loc} next week.",
   "{last} worked in {loc} for ten years before moving to {org}.",
   "{acr}, the agency that oversees elections in {country}, confirmed the results.",
   "{per} called {last2}'s proposal unrealistic.",
   "Flights between {loc} and {loc2} were cancelled because of the storm.",
   "{per}, a spokesman for {org}, declined to comment.",
   "The river rises in {region} and flows through {loc} before crossing into {country}.",
   "{org} and {org2} signed a $2 billion agreement in {loc} on Wednesday.",
   "Police in {region} arrested {per} on Thursday, a week after the attack in {loc}.",
   "\"We are very pleased with the result,\" said {per}, president of the {inst}."],
 "de": ["{per} traf sich am Dienstag in {loc} mit Vertretern von {org}.",
   "{org} kündigte am Montag an, ein neues Büro in {loc} zu eröffnen.",
   "Nach Angaben von {per} sind die Gespräche zwischen {org} und der Regierung von "
   "{country} ins Stocken geraten.",
   "{per}, der in {loc} geboren wurde, kam 2005 zu {org}.",
   "Der Bürgermeister von {loc}, {per}, kritisierte den Plan.",
   "Die Aktien von {org} fielen, nachdem {per} als Vorstandschef zurückgetreten war.",
   "{last} sagte vor Journalisten in {loc}, {org} werde 300 Stellen streichen.",
   "Wie {inst} am Freitag mitteilte, wird {per} das Projekt leiten.",
   "{per} und {per2} werden nächste Woche zum Gipfel in {loc} erwartet.",
   "{last} arbeitete zehn Jahre in {loc}, bevor er zu {org} wechselte.",
   "{acr}, die Wahlbehörde von {country}, bestätigte das Ergebnis.",
   "{per} nannte {last2}s Vorschlag unrealistisch.",
   "Die Flüge zwischen {loc} und {loc2} wurden wegen des Sturms gestrichen.",
   "{per}, ein Sprecher von {org}, wollte sich nicht äußern.",
   "Der Fluss entspringt in {region} und fließt durch {loc}, bevor er {country} erreicht.",
   "{org} und {org2} unterzeichneten am Mittwoch in {loc} einen Vertrag über zwei "
   "Milliarden Dollar.",
   "Die Polizei in {region} nahm am Donnerstag {per} fest, eine Woche nach dem Anschlag "
   "in {loc}.",
   "„Wir sind mit dem Ergebnis sehr zufrieden“, sagte {per}, Präsident von {inst}."],
 "ru": ["{per} заявил журналистам, что компания {org} откроет офис в городе {loc}.",
   "Компания {org} сообщила в понедельник о планах расширения в городе {loc}.",
   "Как заявил {per}, переговоры между компанией {org} и правительством страны {country} "
   "зашли в тупик.",
   "Мэр города {loc} {per} раскритиковал этот план.",
   "{per} родился в городе {loc} и в 2005 году начал работать в компании {org}.",
   "Акции компании {org} упали после того, как {per} покинул пост генерального директора.",
   "{last} сообщил журналистам в городе {loc}, что {org} сократит 300 рабочих мест.",
   "{inst} в пятницу сообщил, что проект возглавит {per}.",
   "{per} и {per2} примут участие в саммите, который пройдёт в городе {loc}.",
   "{last} десять лет работал в городе {loc}, а затем перешёл в компанию {org}.",
   "{acr}, избирательная комиссия страны {country}, подтвердила результаты голосования.",
   "{per} назвал нереалистичным предложение, которое выдвинул {last2}.",
   "Рейсы между городами {loc} и {loc2} отменены из-за шторма.",
   "{per}, представитель компании {org}, отказался от комментариев.",
   "Река берёт начало в регионе {region} и течёт через город {loc}.",
   "Компании {org} и {org2} подписали в среду в городе {loc} соглашение на два миллиарда "
   "долларов.",
   "В четверг в регионе {region} был задержан {per}, через неделю после нападения в "
   "городе {loc}.",
   "«Мы очень довольны результатом», — сказал {per}, глава компании {org}."],
 "es": ["{per} se reunió el martes en {loc} con representantes de {org}.",
   "{org} anunció el lunes que abrirá una nueva oficina en {loc}.",
   "Según {per}, las negociaciones entre {org} y el gobierno de {country} se han estancado.",
   "{per}, nacido en {loc}, se incorporó a {org} en 2005.",
   "El alcalde de {loc}, {per}, criticó el plan.",
   "Las acciones de {org} cayeron después de que {per} dimitiera como consejero delegado.",
   "{last} dijo a los periodistas en {loc} que {org} recortará 300 empleos.",
   "{inst} anunció el viernes que {per} dirigirá el proyecto.",
   "{per} y {per2} asistirán la próxima semana a la cumbre de {loc}.",
   "{last} trabajó diez años en {loc} antes de incorporarse a {org}.",
   "{acr}, el organismo electoral de {country}, confirmó los resultados.",
   "{per} calificó de poco realista la propuesta de {last2}.",
   "Los vuelos entre {loc} y {loc2} fueron cancelados a causa de la tormenta.",
   "{per}, portavoz de {org}, declinó hacer comentarios.",
   "El río nace en {region} y atraviesa {loc} antes de entrar en {country}.",
   "{org} y {org2} firmaron el miércoles en {loc} un acuerdo de 2.000 millones de dólares.",
   "La policía de {region} detuvo el jueves a {per}, una semana después del atentado en "
   "{loc}.",
   "«Estamos muy satisfechos con el resultado», dijo {per}, presidente de {inst}."],
 "pt": ["{per} reuniu-se na terça-feira em {loc} com representantes da {org}.",
   "A {org} anunciou na segunda-feira que vai abrir um novo escritório em {loc}.",
   "Segundo {per}, as negociações entre a {org} e o governo de {country} estão paradas.",
   "{per}, que nasceu em {loc}, entrou na {org} em 2005.",
   "O prefeito de {loc}, {per}, criticou o plano.",
   "As ações da {org} caíram depois que {per} deixou o cargo de presidente.",
   "{last} disse aos jornalistas em {loc} que a {org} vai cortar 300 empregos.",
   "{inst} anunciou na sexta-feira que {per} vai liderar o projeto.",
   "{per} e {per2} devem participar da cúpula em {loc} na próxima semana.",
   "{last} trabalhou dez anos em {loc} antes de se juntar à {org}.",
   "{acr}, o órgão eleitoral de {country}, confirmou os resultados.",
   "{per} classificou como irrealista a proposta de {last2}.",
   "Os voos entre {loc} e {loc2} foram cancelados por causa da tempestade.",
   "{per}, porta-voz da {org}, não quis comentar.",
   "O rio nasce em {region} e atravessa {loc} antes de chegar a {country}.",
   "A {org} e a {org2} assinaram na quarta-feira em {loc} um acordo de 2 bilhões de dólares.",
   "A polícia de {region} prendeu {per} na quinta-feira, uma semana após o atentado em {loc}.",
   "\"Estamos muito satisfeitos com o resultado\", disse {per}, presidente de {inst}."],
 "sv": ["{per} träffade på tisdagen representanter för {org} i {loc}.",
   "{org} meddelade på måndagen att företaget öppnar ett nytt kontor i {loc}.",
   "Enligt {per} har förhandlingarna mellan {org} och regeringen i {country} stannat av.",
   "{per}, som är född i {loc}, började på {org} år 2005.",
   "Kommunstyrelsens ordförande i {loc}, {per}, kritiserade planen.",
   "Aktien i {org} föll sedan {per} lämnat posten som vd.",
   "{last} sade till journalister i {loc} att {org} ska dra ner på 300 tjänster.",
   "{inst} meddelade på fredagen att {per} ska leda projektet.",
   "{per} och {per2} väntas delta i toppmötet i {loc} nästa vecka.",
   "{last} arbetade i tio år i {loc} innan bytet till {org}.",
   "{acr}, valmyndigheten i {country}, bekräftade resultatet.",
   "{per} kallade {last2}s förslag orealistiskt.",
   "Flygen mellan {loc} och {loc2} ställdes in på grund av stormen.",
   "{per}, talesperson för {org}, avböjde att kommentera.",
   "Älven rinner upp i {region} och flyter genom {loc} innan den når {country}.",
   "{org} och {org2} undertecknade på onsdagen ett avtal värt två miljarder dollar i {loc}.",
   "Polisen i {region} grep på torsdagen {per}, en vecka efter attacken i {loc}.",
   "– Vi är mycket nöjda med resultatet, säger {per}, ordförande för {inst}."],
 "fr": ["{per} a rencontré mardi à {loc} des représentants de {org}.",
   "{org} a annoncé lundi l'ouverture d'un nouveau bureau à {loc}.",
   "Selon {per}, les négociations entre {org} et le gouvernement de {country} sont au point mort.",
   "{per}, né à {loc}, a rejoint {org} en 2005.",
   "Le maire de {loc}, {per}, a critiqué le projet.",
   "L'action {org} a chuté après la démission de {per} de son poste de directeur général.",
   "{last} a déclaré aux journalistes à {loc} que {org} allait supprimer 300 emplois.",
   "{inst} a annoncé vendredi que {per} dirigera le projet.",
   "{per} et {per2} sont attendus la semaine prochaine au sommet de {loc}.",
   "{last} a travaillé dix ans à {loc} avant de rejoindre {org}.",
   "{acr}, l'organisme chargé des élections en {country}, a confirmé les résultats.",
   "{per} a jugé irréaliste la proposition de {last2}.",
   "Les vols entre {loc} et {loc2} ont été annulés en raison de la tempête.",
   "{per}, porte-parole de {org}, n'a pas souhaité faire de commentaire.",
   "Le fleuve prend sa source en {region} et traverse {loc} avant d'atteindre {country}.",
   "{org} et {org2} ont signé mercredi à {loc} un accord de 2 milliards de dollars.",
   "La police de {region} a arrêté jeudi {per}, une semaine après l'attentat de {loc}.",
   "« Nous sommes très satisfaits du résultat », a déclaré {per}, président de {inst}."],
 # the first six in simplified characters, the rest in traditional ones, as in zh PUD
 "zh": ["{per}周二在{loc}会见了{org}的代表。",
   "{org}周一宣布将在{loc}开设新的办事处。",
   "据{per}说，{org}与{country}政府之间的谈判陷入僵局。",
   "{per}出生于{loc}，2005年加入{org}。",
   "{loc}市长{per}批评了这项计划。",
   "{per}辞去首席执行官职务后，{org}的股价下跌。",
   "{last}先生在{loc}對記者表示，{org}將裁員300人。",
   "{inst}週五宣布，{per}將負責這個項目。",
   "{per}和{per2}預計下週出席在{loc}舉行的峰會。",
   "{per}在{loc}工作了十年，之後加入{org}。",
   "{country}選舉委員會{acr}確認了選舉結果。",
   "{per}批評{last2}女士的提議不切實際。",
   "由於暴風雨，{loc}和{loc2}之間的航班被取消。",
   "{org}發言人{per}拒絕置評。",
   "這條河發源於{region}，流經{loc}，最後進入{country}。",
   "{org}和{org2}週三在{loc}簽署了一項價值20億美元的協議。",
   "{region}警方週四逮捕了{per}，距離{loc}發生襲擊事件已有一週。",
   "「我們對結果非常滿意，」{inst}主席{per}說。"],
}

_ACRONYM_LETTERS = {"ru": "АБВГДЕИКЛМНОПРСТУФЭ"}
PER_LANG = 4000  # sentences per language by default


def _fix_city_order(fake) -> None:
    """it_IT builds its city list from a set, so the cities a seed draws would change with
    PYTHONHASHSEED; sorting the list makes them depend on the seed alone."""
    for provider in fake.get_providers():
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)


class _Names:
    """Draws slot values for one language: each from a locale picked by weight."""

    def __init__(self, lang: str, seed: int):
        try:
            from faker import Faker
        except ImportError:
            raise EdgekitError("name text needs Faker: pip install 'edgekit[ner]'") from None
        self.lang = lang
        # string seeds are hashed deterministically; the language in them keeps each
        # language's foreign names its own
        self.rng = random.Random(f"{lang}/{seed}")
        self.fakers = [Faker(locale) for locale in LOCALES[lang]]
        for locale, fake in zip(LOCALES[lang], self.fakers, strict=True):
            fake.seed_instance(f"{lang}/{locale}/{seed}")
            _fix_city_order(fake)
        self.own = self.fakers[0]
        self.weights = list(LOCALES[lang].values())

    def value(self, slot: str) -> str:
        kind = slot.rstrip("0123456789")
        fake = self.rng.choices(self.fakers, self.weights)[0]
        if kind == "per":
            if self.lang == "ru":
                return f"{fake.first_name_male()} {fake.last_name_male()}"
            return fake.name()
        if kind == "last":
            return fake.last_name_male() if self.lang == "ru" else fake.last_name()
        if kind == "org":
            return fake.company()
        if kind == "loc":
            return fake.city_name() if hasattr(fake, "city_name") else fake.city()
        if kind == "region":
            return (fake.administrative_unit() if hasattr(fake, "administrative_unit")
                    else self.value("loc"))
        if kind == "country":  # in the sentence's language
            return self.own.country()
        if kind == "acr":
            letters = _ACRONYM_LETTERS.get(self.lang, string.ascii_uppercase)
            return "".join(self.rng.choices(letters, k=self.rng.randint(2, 4)))
        if kind == "inst":
            return self.fill(self.rng.choice(INSTITUTIONS[self.lang]))
        raise KeyError(slot)

    def fill(self, template: str) -> str:
        slots = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        text = template.format(**{slot: self.value(slot) for slot in sorted(slots)})
        return text.replace("..", ".")  # a name ending in "." before the full stop


def name_sentences(lang: str, count: int, seed: int = 0) -> list[str]:
    """`count` sentences in `lang`, the templates in turn, each with fresh names."""
    if lang not in TEMPLATES:
        raise EdgekitError(f"no name templates for {lang!r}; have {', '.join(TEMPLATES)}")
    names = _Names(lang, seed)
    templates = TEMPLATES[lang]
    return [names.fill(templates[i % len(templates)]) for i in range(count)]


def write_name_text(out: Path, count: int = PER_LANG, langs: list[str] | None = None,
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
