"""Non-English pages for the sample pool: German, French, Spanish, Italian and Dutch local news.

Why: language ID (fastText lid.176 or langdetect) must have something to reject. The pages are otherwise
well formed (long, punctuated, many paragraphs) so that language filtering, not another heuristic, is what
removes them. Every sentence is written for this project; none contains English template text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dclm_resources.pools.sample_english import capitalize, slugify


@dataclass(frozen=True)
class Language:
    code: str
    tld: str
    places: tuple[str, ...]
    names: tuple[str, ...]
    towns: tuple[str, ...]
    months: tuple[str, ...]
    sentences: tuple[str, ...]
    titles: tuple[str, ...]
    section: str
    site_words: tuple[str, ...]


def _t(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.replace("\n", ";").split(";") if item.strip())


LANGUAGES: tuple[Language, ...] = (
    Language(
        "de", "de",
        _t("der Garten; die Bibliothek; der Bahnhof; die Schule; das Rathaus; der Markt; die Bäckerei; das Museum;"
           "der Sportverein; der Stadtpark; das Schwimmbad; die Musikschule"),
        _t("Anna Müller; Jonas Schmidt; Lena Fischer; Felix Weber; Marie Wagner; Paul Becker; Sophie Hoffmann;"
           "Lukas Schulz; Hannah Koch; Moritz Richter"),
        _t("Altdorf; Bergheim; Lindenau; Rosenfeld; Kirchberg; Waldkirch; Steinach; Neuhausen; Talheim; Buchental"),
        _t("Januar; Februar; März; April; Mai; Juni; Juli; August; September; Oktober; November; Dezember"),
        (
            "{place} in {town} ist seit {num} Jahren ein beliebter Treffpunkt für die Nachbarschaft",
            "viele Bewohner sagen, dass {place} im Sommer besonders schön ist",
            "am Wochenende trafen sich {num} Menschen, um über die Zukunft der Stadt zu sprechen",
            "{person} fährt jeden Morgen mit dem Fahrrad zur Arbeit, auch bei Regen",
            "die Preise sind im letzten Jahr um {pct} Prozent gestiegen",
            "im {month} beginnt die neue Saison, und die Vorfreude ist groß",
            "nach Angaben der Stadtverwaltung wurden bereits {num} Anträge gestellt",
            "wer mehr erfahren möchte, kann sich jederzeit an den Verein wenden",
            "besonders beliebt ist {place} bei Familien mit kleinen Kindern",
            "das Wetter war wechselhaft, aber die Stimmung blieb gut",
            "ein Sprecher der Gemeinde betonte, dass noch viel Arbeit vor allen liegt",
            "zum Schluss bedankte sich {person} bei allen Helfern für ihre Unterstützung",
            "die nächste Versammlung findet im {month} im Gemeindehaus statt",
            "für viele ältere Menschen ist der Weg in die Innenstadt zu weit",
            "seit {year} gibt es in {town} auch einen kleinen Wochenmarkt",
            "Kritiker meinen, dass die Pläne zu teuer und zu ungenau sind",
            "laut {person} haben sich schon {num} Freiwillige gemeldet",
            "die Kinder der Grundschule haben für das Fest Lieder geübt",
        ),
        _t("Neues aus {town}; Bürger diskutieren über die Zukunft von {town}; Großer Andrang beim Fest in {town};"
           "Was sich in {town} ändern soll"),
        "lokales",
        _t("nachrichten; zeitung; anzeiger; aktuell"),
    ),
    Language(
        "fr", "fr",
        _t("la bibliothèque; le marché; la boulangerie; le musée; la gare; le parc municipal; l'école primaire;"
           "la mairie; le jardin public; la piscine; le club de football; la salle des fêtes"),
        _t("Camille Martin; Lucas Bernard; Chloé Dubois; Hugo Laurent; Léa Moreau; Louis Girard; Manon Lefèvre;"
           "Julien Roux; Inès Fournier; Théo Mercier"),
        _t("Beaulieu; Villeneuve; Montclair; Rochebrune; Saint-Aubin; Valmont; Belleville-sur-Orne; Champfleury;"
           "Fontaine-le-Bois; Marcillac"),
        _t("janvier; février; mars; avril; mai; juin; juillet; août; septembre; octobre; novembre; décembre"),
        (
            "{place} de {town} accueille chaque semaine des dizaines de visiteurs",
            "selon {person}, la situation s'est nettement améliorée depuis {year}",
            "les prix ont augmenté de {pct} pour cent au cours de l'année dernière",
            "beaucoup d'habitants se rendent au travail à vélo quand il fait beau",
            "la prochaine réunion aura lieu en {month} à la salle communale",
            "les enfants du quartier participent volontiers aux ateliers du mercredi",
            "il reste encore beaucoup à faire, mais l'ambiance est excellente",
            "plus de {num} personnes ont signé la pétition en quelques jours",
            "{person} explique que le projet a demandé des mois de préparation",
            "les commerçants espèrent que les travaux seront terminés avant l'été",
            "le conseil municipal a voté un budget de {num} mille euros pour la rénovation",
            "pour en savoir plus, il suffit de contacter l'association par courrier",
            "le week-end dernier, le temps était pluvieux mais le public est venu nombreux",
            "depuis {year}, {place} propose aussi des activités pour les personnes âgées",
            "certains habitants regrettent le manque de places de stationnement",
            "d'après {person}, une centaine de bénévoles se sont déjà inscrits",
            "les élèves de l'école ont préparé des chansons pour la fête",
        ),
        _t("Du nouveau à {town}; Les habitants de {town} débattent de l'avenir; Grande affluence à la fête de {town};"
           "Ce qui va changer à {town}"),
        "actualites",
        _t("actu; journal; infos; lechos"),
    ),
    Language(
        "es", "es",
        _t("la biblioteca; el mercado; la panadería; el museo; la estación; el parque municipal; la escuela;"
           "el ayuntamiento; la plaza mayor; el polideportivo; la piscina; el centro cultural"),
        _t("Lucía García; Pablo Fernández; Carmen López; Javier Martínez; Sofía Sánchez; Diego Romero;"
           "Elena Navarro; Marcos Torres; Laura Ruiz; Andrés Molina"),
        _t("Villanueva del Río; San Miguel; Puerto Alto; Valdeflores; Santa Clara; Torrealba; Fuentemayor;"
           "Castellar; Robledo; Miraflores del Campo"),
        _t("enero; febrero; marzo; abril; mayo; junio; julio; agosto; septiembre; octubre; noviembre; diciembre"),
        (
            "{place} de {town} recibe cada semana a cientos de visitantes",
            "según {person}, la situación ha mejorado mucho desde {year}",
            "los precios subieron un {pct} por ciento durante el último año",
            "muchos vecinos van al trabajo en bicicleta cuando hace buen tiempo",
            "la próxima reunión se celebrará en {month} en el salón de actos",
            "los niños del barrio participan con ilusión en los talleres de verano",
            "todavía queda mucho por hacer, pero el ambiente es excelente",
            "más de {num} personas firmaron la petición en pocos días",
            "{person} explica que el proyecto necesitó meses de preparación",
            "los comerciantes esperan que las obras terminen antes del verano",
            "el pleno municipal aprobó un presupuesto de {num} mil euros para la reforma",
            "para más información, basta con escribir a la asociación",
            "el fin de semana pasado llovió, pero el público acudió en gran número",
            "desde {year}, {place} ofrece también actividades para personas mayores",
            "algunos vecinos lamentan la falta de aparcamiento en el centro",
            "de acuerdo con {person}, ya se han apuntado más de cien voluntarios",
            "los alumnos del colegio ensayaron canciones para la fiesta",
        ),
        _t("Novedades de {town}; Los vecinos de {town} debaten sobre el futuro; Gran ambiente en las fiestas de {town};"
           "Lo que va a cambiar en {town}"),
        "noticias",
        _t("noticias; diario; informa; hoy"),
    ),
    Language(
        "it", "it",
        _t("la biblioteca; il mercato; la panetteria; il museo; la stazione; il parco comunale; la scuola;"
           "il municipio; la piazza; il teatro; la piscina; il circolo culturale"),
        _t("Giulia Rossi; Marco Bianchi; Francesca Romano; Luca Colombo; Chiara Ricci; Matteo Marino; Sara Greco;"
           "Andrea Bruno; Elena Gallo; Davide Conti"),
        _t("San Lorenzo; Castelnuovo; Borgo Alto; Villafranca; Montevecchio; Roccabella; Fontanelle; Poggio Verde;"
           "Casalbuono; Pietrasanta Bassa"),
        _t("gennaio; febbraio; marzo; aprile; maggio; giugno; luglio; agosto; settembre; ottobre; novembre; dicembre"),
        (
            "{place} di {town} accoglie ogni settimana centinaia di visitatori",
            "secondo {person}, la situazione è molto migliorata dal {year}",
            "i prezzi sono aumentati del {pct} per cento nell'ultimo anno",
            "molti abitanti vanno al lavoro in bicicletta quando il tempo è bello",
            "la prossima riunione si terrà a {month} nella sala civica",
            "i bambini del quartiere partecipano con entusiasmo ai laboratori estivi",
            "c'è ancora molto da fare, ma l'atmosfera è ottima",
            "più di {num} persone hanno firmato la petizione in pochi giorni",
            "{person} spiega che il progetto ha richiesto mesi di preparazione",
            "i commercianti sperano che i lavori finiscano prima dell'estate",
            "il consiglio comunale ha approvato un bilancio di {num} mila euro per il restauro",
            "per maggiori informazioni basta scrivere all'associazione",
            "lo scorso fine settimana ha piovuto, ma il pubblico è arrivato numeroso",
            "dal {year}, {place} offre anche attività per gli anziani",
            "alcuni residenti lamentano la mancanza di parcheggi in centro",
            "a detta di {person}, si sono già iscritti più di cento volontari",
            "gli alunni della scuola hanno preparato canzoni per la festa",
        ),
        _t("Novità da {town}; I cittadini di {town} discutono del futuro; Grande festa a {town};"
           "Cosa cambierà a {town}"),
        "cronaca",
        _t("notizie; giornale; oggi; cronaca"),
    ),
    Language(
        "nl", "nl",
        _t("de bibliotheek; de markt; de bakkerij; het museum; het station; het stadspark; de basisschool;"
           "het gemeentehuis; het plein; het zwembad; de voetbalclub; het buurthuis"),
        _t("Sanne de Vries; Daan Jansen; Emma Bakker; Lars Visser; Fleur Smit; Bram Mulder; Lotte de Boer;"
           "Ruben Meijer; Noor Bos; Thijs Vos"),
        _t("Zuiderveen; Oosterwolde; Hoogkerk; Bergendal; Westerhaven; Nieuwlande; Ouderkerk; Lindendijk;"
           "Veenhuizen; Breedeweg"),
        _t("januari; februari; maart; april; mei; juni; juli; augustus; september; oktober; november; december"),
        (
            "{place} in {town} trekt elke week honderden bezoekers",
            "volgens {person} is de situatie sinds {year} flink verbeterd",
            "de prijzen zijn het afgelopen jaar met {pct} procent gestegen",
            "veel inwoners fietsen naar hun werk als het mooi weer is",
            "de volgende bijeenkomst vindt in {month} plaats in de raadzaal",
            "de kinderen uit de wijk doen graag mee aan de zomerworkshops",
            "er is nog veel werk te doen, maar de sfeer is uitstekend",
            "meer dan {num} mensen hebben de petitie binnen een paar dagen getekend",
            "{person} vertelt dat het project maanden voorbereiding heeft gekost",
            "de winkeliers hopen dat de werkzaamheden voor de zomer klaar zijn",
            "de gemeenteraad heeft {num} duizend euro vrijgemaakt voor de renovatie",
            "wie meer wil weten, kan contact opnemen met de vereniging",
            "vorig weekend regende het, maar toch kwamen er veel mensen",
            "sinds {year} biedt {place} ook activiteiten voor ouderen aan",
            "sommige bewoners klagen over het gebrek aan parkeerplaatsen",
            "volgens de organisatie hebben zich al meer dan honderd vrijwilligers aangemeld",
            "de leerlingen van de school hebben liedjes voor het feest ingestudeerd",
        ),
        _t("Nieuws uit {town}; Inwoners van {town} praten over de toekomst; Drukte op het feest in {town};"
           "Wat er verandert in {town}"),
        "nieuws",
        _t("nieuws; courant; krant; actueel"),
    ),
)


def foreign_page(rng: random.Random) -> tuple[str, str, str]:
    """A local-news page in one language; returns ``(text, url, language_code)``."""
    lang = rng.choice(LANGUAGES)
    town = rng.choice(lang.towns)
    year = rng.randint(2014, 2023)

    def fill(template: str) -> str:
        return template.format(
            place=rng.choice(lang.places), person=rng.choice(lang.names), town=town,
            num=rng.randint(12, 900), pct=rng.randint(3, 60), year=rng.randint(year - 9, year - 1),
            month=rng.choice(lang.months),
        )

    title = fill(rng.choice(lang.titles))
    lines = [title, f"{rng.randint(1, 28)}. {rng.choice(lang.months)} {year}" if lang.code == "de"
             else f"{rng.randint(1, 28)} {rng.choice(lang.months)} {year}"]
    pool = list(lang.sentences)
    rng.shuffle(pool)
    for _ in range(rng.randint(3, 4)):
        n = rng.randint(3, 4)
        if len(pool) < n:
            pool = list(lang.sentences)
            rng.shuffle(pool)
        lines.append(" ".join(capitalize(fill(pool.pop())) + "." for _ in range(n)))
    domain = f"{slugify(town)}-{rng.choice(lang.site_words)}.{lang.tld}"
    url = f"https://www.{domain}/{lang.section}/{year}/{slugify(title)}-{rng.randrange(10**10)}"
    return "\n".join(lines), url, lang.code
