"""The server's error messages in German, for a client that asks for it (`?lang=de` or
Accept-Language: de). English stays the default and the source: every message is raised in
English where it happens, and a German rendering is found here by its pattern. A message
without a pattern gets the German summary of its kind, with the English detail after it.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "de")

# the kind (DarkroomError class name, or the HTTP reason) -> what it means, in German
SUMMARIES = {
    "ConsentRequired": "Einwilligung nötig", "PolicyBlocked": "Von der Richtlinie blockiert",
    "ImageError": "Bild nicht verwendbar", "InvalidParameter": "Ungültiger Parameter",
    "InvalidRequest": "Ungültige Anfrage", "ModelError": "Modell nicht verwendbar",
    "UnknownModel": "Unbekanntes Modell",
    "UnsafeModelFile": "Unsichere Modelldatei", "IntegrityError": "Daten passen nicht zu Hash oder Signatur",
    "Cancelled": "Abgebrochen", "JobInterrupted": "Unterbrochen", "Forbidden": "Nicht erlaubt",
    "HostNotAllowed": "Host nicht erlaubt", "OriginNotAllowed": "Herkunft nicht erlaubt",
    "Unauthorized": "Anmeldung nötig", "NotFound": "Nicht gefunden", "Conflict": "Konflikt", "Gone": "Nicht mehr da",
    "TooManyRequests": "Zu viele Aufträge", "BadRequest": "Fehlerhafte Anfrage", "ContentTooLarge": "Zu groß",
    "UnprocessableEntity": "Nicht verarbeitbar", "UnprocessableContent": "Nicht verarbeitbar",
}
BY_STATUS = {400: "Fehlerhafte Anfrage", 401: "Anmeldung nötig", 403: "Nicht erlaubt", 404: "Nicht gefunden",
             409: "Konflikt", 410: "Nicht mehr da", 422: "Ungültige Eingabe", 429: "Zu viele Aufträge"}


def _faces(match: re.Match) -> str:
    people = match["people"]
    return "ein Gesicht" if people == "a face" else people.replace("faces", "Gesichter")


def _rule(why: str) -> str:
    """'Title (rule R; matched: a, b)' -> 'Title (Regel R; erkannt: a, b)' (the title: see `translate`)."""
    return re.sub(r"\(rule (\S+); matched: (.*)\)$", r"(Regel \1; erkannt: \2)", why)


def _where(text: str) -> str:
    return text.replace("input picture", "Eingabebild").replace("mask picture", "Maskenbild")


# (pattern over the whole English message, German template or function of the match)
PATTERNS: list[tuple[re.Pattern, object]] = [(re.compile(p, re.S), g) for p, g in (
    (r"(?P<where>.+) shows (?P<people>a face|\d+ faces): editing a photo of a real person needs a lawful basis.*",
     lambda m: f"{_where(m['where'])} zeigt {_faces(m)}: Das Foto einer realen Person zu bearbeiten braucht eine "
               "Rechtsgrundlage (DSGVO Art. 6). Liegt die Einwilligung der Person vor, senden Sie erneut mit "
               "Einwilligung (oder einer anderen Rechtsgrundlage); die Bestätigung wird im Audit-Log festgehalten."),
    (r"a valid token is needed.*", "Ein gültiges Token wird gebraucht: Authorization: Bearer TOKEN (oder HTTP Basic "
                                    "mit dem Benutzernamen und dem Token als Passwort); `darkroom users add NAME` "
                                    "stellt eines aus."),
    (r"this needs an admin user", "Dafür braucht es einen Admin-Benutzer."),
    (r"no picture (?P<ref>sha256:\S+) of yours", "Kein Bild {ref} von Ihnen."),
    (r"no job (?P<id>\S+) of yours", "Kein Auftrag {id} von Ihnen."),
    (r"job (?P<id>\S+) has ended and its events are gone.*",
     "Auftrag {id} ist beendet, seine Ereignisse sind nicht mehr da; GET /api/v1/jobs/{id} zeigt das Ergebnis."),
    (r"you have (?P<n>\d+) jobs waiting; the limit is (?P<limit>\d+)",
     "Sie haben {n} wartende Aufträge; die Grenze ist {limit}."),
    (r"project (?P<p>.+) is not yours", "Projekt {p} gehört nicht Ihnen."),
    (r"the upload is empty.*", "Der Upload ist leer; senden Sie die Bytes des Bildes als Anfrageinhalt."),
    (r"the upload is (?P<n>\d+) bytes; this server takes at most (?P<limit>\d+)",
     "Der Upload hat {n} Bytes; dieser Server nimmt höchstens {limit}."),
    (r"the upload is larger than (?P<limit>\d+) bytes.*", "Der Upload ist größer als {limit} Bytes, das Höchste, "
                                                           "was dieser Server annimmt."),
    (r"the upload is not a readable picture \(PNG, JPEG or WebP\): (?P<why>.*)",
     lambda m: f"Der Upload ist kein lesbares Bild (PNG, JPEG oder WebP): {_by_pattern(m['why'], PATTERNS) or m['why']}"),
    (r"the request is (?P<n>\d+) bytes; this server takes at most (?P<limit>\d+)",
     "Die Anfrage hat {n} Bytes; dieser Server nimmt höchstens {limit}."),
    (r"(?P<where>steps\[\d+\]\S*) names (?P<v>'.*'): a request names its inputs only by sha256.*",
     "{where} nennt {v}: Eine Anfrage nennt ihre Eingaben nur per sha256 aus der Bibliothek (POST "
     "/api/v1/inputs) oder mit einem Namen aus den `inputs` des Auftrags, nie mit einem Pfad auf dem Server."),
    (r"name either a project or an image to erase", "Nennen Sie entweder ein Projekt oder ein Bild zum Löschen."),
    (r"unknown model (?P<name>'[^']*')\. Known models: (?P<names>[^.]*)\..*",
     "Unbekanntes Modell {name}. Bekannte Modelle: {names}. Mit `darkroom models add PATH [--name NAME]` kommt "
     "eines hinzu."),
    (r"blocked by policy (?P<v>\S+): (?P<why>.+?)\. This category is absolute.*",
     lambda m: f"Blockiert durch Richtlinie {m['v']}: {_rule(m['why'])}. Diese Kategorie ist absolut und lässt "
               "sich nicht abschalten. Formulieren Sie den Prompt um."),
    (r"blocked by policy (?P<v>\S+): (?P<why>.+?)\. Rephrase the prompt; an administrator.*",
     lambda m: f"Blockiert durch Richtlinie {m['v']}: {_rule(m['why'])}. Formulieren Sie den Prompt um; ein "
               "Administrator kann diese Kategorie in den Einstellungen ändern."),
    (r"this server does not answer to host (?P<host>.+?); start it with --allowed-host NAME.*",
     "Dieser Server antwortet nicht auf den Host {host}; starten Sie ihn mit --allowed-host NAME."),
    (r"requests from (?P<origin>\S+) are not allowed;.*",
     "Anfragen von {origin} sind nicht erlaubt; starten Sie den Server mit --cors-origin, um eine Web-App dort "
     "zuzulassen."),
    (r"the picture sha256:(?P<sha>\S+) carries no recipe.*", "Das Bild sha256:{sha} trägt kein Rezept."),
    (r"project (?P<p>.+) belongs to another user; choose another project name",
     "Projekt {p} gehört einem anderen Benutzer; wählen Sie einen anderen Projektnamen."),
    (r"cannot read (?P<what>input picture|mask picture) (?P<name>\S+) as a picture \(PNG, JPEG or WebP\): (?P<why>.*)",
     lambda m: f"{_where(m['what'])} {m['name']} ist kein lesbares Bild (PNG, JPEG oder WebP): "
               f"{_by_pattern(m['why'], PATTERNS) or m['why']}"),
    (r"the upload is not an image darkroom can read; use PNG, JPEG or WebP",
     "darkroom kann es nicht lesen; verwenden Sie PNG, JPEG oder WebP."),
    (r"the upload is (?P<w>\d+)x(?P<h>\d+) pixels; the limit is (?P<n>\d+) megapixels\. Downscale it first\.",
     "Es hat {w}x{h} Pixel; die Grenze ist {n} Megapixel. Verkleinern Sie es zuerst."),
    (r"the mask is empty after shrinking it by (?P<n>\d+) pixels; shrink it less",
     "Die Maske ist leer, nachdem sie um {n} Pixel verkleinert wurde; verkleinern Sie sie weniger."),
    (r"this server takes at most (?P<n>\d+) queued jobs.*", "Dieser Server nimmt höchstens {n} wartende Aufträge."),
)]

_CHECKPOINT = r"checkpoint #(?P<id>\d+) \(size (?P<size>\d+), (?P<time>[^)]*)\)"


def _checkpoint(m: re.Match) -> str:
    return f"Prüfpunkt #{m['id']} (Größe {m['size']}, {m['time']})"


def _syntax(note: str) -> str:
    return _by_pattern(note, SYNTAX) or note


# what reports say (audit verification, erasure, replay, prompt analysis): (pattern, German)
PROSE: list[tuple[re.Pattern, object]] = [(re.compile(p, re.S), g) for p, g in (
    # the audit log's verification (darkroom.trust.auditor)
    (r"audit log FAILED verification: first bad entry is #(?P<n>\d+)",
     "Prüfprotokoll hat die Prüfung NICHT bestanden: der erste fehlerhafte Eintrag ist #{n}"),
    (r"audit log FAILED verification", "Prüfprotokoll hat die Prüfung NICHT bestanden"),
    (r"audit log intact: (?P<n>\d+) entries, root (?P<root>\S+), (?P<cp>\d+) signed checkpoint\(s\) verified",
     "Prüfprotokoll intakt: {n} Einträge, Wurzel {root}, {cp} signierte Prüfpunkte bestätigt"),
    (r"the last (?P<n>\d+) entr(y is|ies are) chained but not yet under a signed checkpoint",
     "die letzten {n} Einträge sind verkettet, aber noch von keinem signierten Prüfpunkt gedeckt"),
    (r"entry (?P<span>#\S+) missing: deleted from the log", "Eintrag {span} fehlt: aus dem Protokoll gelöscht"),
    (r"entry #(?P<i>\d+) appears twice", "Eintrag #{i} kommt zweimal vor"),
    (r"entry #(?P<i>\d+) altered: its content no longer matches its hash",
     "Eintrag #{i} verändert: sein Inhalt passt nicht mehr zu seinem Hash"),
    (r"entry #(?P<i>\d+) does not chain to entry #(?P<j>-?\d+) \(prev hash mismatch\)",
     "Eintrag #{i} schließt nicht an Eintrag #{j} an (der prev-Hash passt nicht)"),
    (r"checkpoint #(?P<id>\d+) missing: deleted from the log", "Prüfpunkt #{id} fehlt: aus dem Protokoll gelöscht"),
    (_CHECKPOINT + r" is malformed \(certificate or signature cannot be read\)",
     lambda m: f"{_checkpoint(m)} ist beschädigt (Zertifikat oder Signatur nicht lesbar)"),
    (_CHECKPOINT + r": signature invalid \(checkpoint forged or altered\)",
     lambda m: f"{_checkpoint(m)}: Signatur ungültig (Prüfpunkt gefälscht oder verändert)"),
    (_CHECKPOINT + r": signed by a certificate that does not lead to a trusted root",
     lambda m: f"{_checkpoint(m)}: von einem Zertifikat signiert, das zu keiner vertrauenswürdigen Wurzel führt"),
    (_CHECKPOINT + r": belongs to another log \((?P<log>[^)]*)\)",
     lambda m: f"{_checkpoint(m)}: gehört zu einem anderen Protokoll ({m['log']})"),
    (_CHECKPOINT + r": smaller than an earlier checkpoint \(size (?P<n>\d+)\); the log was rolled back",
     lambda m: f"{_checkpoint(m)}: kleiner als ein früherer Prüfpunkt (Größe {m['n']}); das Protokoll wurde "
               "zurückgesetzt"),
    (r"log truncated: " + _CHECKPOINT + r" signed (?P<signed>\d+) entries, only (?P<left>\d+) remain; "
     r"entries (?P<span>\S+) are missing",
     lambda m: f"Protokoll gekürzt: {_checkpoint(m)} hat {m['signed']} Einträge signiert, nur {m['left']} sind "
               f"übrig; die Einträge {m['span']} fehlen"),
    (_CHECKPOINT + r": entries (?P<span>\S+) no longer hash to the signed root \(see entry (?P<e>#\d+)\)",
     lambda m: f"{_checkpoint(m)}: die Einträge {m['span']} ergeben nicht mehr die signierte Wurzel "
               f"(siehe Eintrag {m['e']})"),
    (_CHECKPOINT + r": entries (?P<span>\S+) no longer hash to the signed root; an entry in (?P<in>\S+) was "
     r"altered, inserted or removed and the chain rewritten",
     lambda m: f"{_checkpoint(m)}: die Einträge {m['span']} ergeben nicht mehr die signierte Wurzel; ein "
               f"Eintrag in {m['in']} wurde verändert, eingefügt oder entfernt und die Kette neu geschrieben"),
    # erasure (darkroom.studio erase_plan, darkroom.trust.erasure)
    (r"project (?P<p>'.*'): (?P<n>\d+) file\(s\), (?P<k>\d+) shared with other projects \(kept for them\)",
     "Projekt {p}: {n} Datei(en), {k} mit anderen Projekten geteilt (für diese behalten)"),
    (r"project (?P<p>'.*'): (?P<n>\d+) file\(s\)", "Projekt {p}: {n} Datei(en)"),
    (r"picture (?P<sha>sha256:\S+) and (?P<n>\d+) descendant\(s\)", "Bild {sha} und {n} daraus entwickelte(s)"),
    (r"erased (?P<n>\d+) file\(s\), (?P<b>\d+) bytes", "{n} Datei(en) gelöscht, {b} Bytes"),
    (r"(?P<n>\d+) file\(s\) kept for other projects", "{n} Datei(en) für andere Projekte behalten"),
    (r"(?P<n>\d+) exported file\(s\) deleted", "{n} exportierte Datei(en) gelöscht"),
    (r"personal fields of (?P<n>\d+) audit entries shredded",
     "persönliche Felder von {n} Protokolleinträgen vernichtet"),
    (r"their audit events stay encrypted under the project's key.*",
     "ihre Protokollereignisse bleiben unter dem Schlüssel des Projekts verschlüsselt, `darkroom audit show` "
     "zeigt also weiter ihre Prompts, Rezepte und Datei-Hashes; um auch diese zu vernichten, löschen Sie das "
     "ganze Projekt (`darkroom erase --project P`)"),
    # replay (darkroom.studio.replay)
    (r"the picture records no runtime", "das Bild hält keine Laufzeitumgebung fest"),
    (r"the runtime differs: (?P<changes>.+)", "die Laufzeitumgebung weicht ab: {changes}"),
    (r"same device, dtype, versions and threads; .*",
     "gleiches Gerät, gleicher dtype, gleiche Versionen und Threads; das Modell, ein Eingabebild oder ein "
     "nicht deterministischer Kernel muss sich geändert haben"),
    # prompt analysis (darkroom.prompt.analyze)
    (r"the prompt is empty: the image is generated without text guidance\.",
     "Der Prompt ist leer: das Bild entsteht ohne Textführung."),
    (r"the prompt has no tokens after parsing: only brackets, weights or BREAKs\.",
     "Der Prompt ergibt keine Tokens: nur Klammern, Gewichte oder BREAKs."),
    (r"at character (?P<n>\d+): (?P<note>.+)", lambda m: f"Bei Zeichen {m['n']}: {_syntax(m['note'])}"),
    (r"(?P<t>'.*') produces no tokens and is dropped\.", "{t} ergibt keine Tokens und fällt weg."),
    (r"(?P<t>'.*') contains the tokenizer's (?P<names>\S+) token; the encoder treats it as the end of the text\.",
     "{t} enthält das {names}-Token des Tokenizers; der Encoder nimmt es als Ende des Textes."),
    (r"(?P<t>'.*') contains characters this tokenizer does not know \(unknown token\)\.",
     "{t} enthält Zeichen, die dieser Tokenizer nicht kennt (unbekanntes Token)."),
    (r"(?P<t>'.*') has weight (?P<w>\S+): zero or negative weights do not remove a concept.*",
     "{t} hat das Gewicht {w}: Null- oder negative Gewichte entfernen keinen Begriff (dafür ist der negative "
     "Prompt da); sie verzerren den ganzen Abschnitt."),
)]

# the prompt parser's notes (darkroom.prompt.syntax)
SYNTAX = [(re.compile(p, re.S), g) for p, g in (
    (r"BREAK inside brackets: .*", "BREAK in Klammern: darkroom beginnt hier einen neuen Abschnitt; A1111 würde das "
                                   "Wort BREAK mit negativem Gewicht kodieren. Schließen Sie die Klammern vor BREAK."),
    (r"a lone backslash is dropped; .*", "Ein einzelner Backslash fällt weg; schreiben Sie \\\\ für einen Backslash."),
    (r"(?P<n>'.*') is not a number, so (?P<t>'.*') is kept as text\.",
     "{n} ist keine Zahl, also bleibt {t} als Text stehen."),
    (r"(?P<t>'.*') has no opening '\(' and is kept as text; write (?P<w>\(.*\))\.",
     "{t} hat keine öffnende '(' und bleibt als Text stehen; schreiben Sie {w}."),
    (r"unmatched (?P<t>'.*') is kept as text; escape it as (?P<e>\S+) to mean that\.",
     "{t} ohne Gegenstück bleibt als Text stehen; schreiben Sie {e}, wenn das Zeichen gemeint ist."),
    (r"prompt editing/alternation .*", "Prompt-Editing und -Wechsel ([von:zu:wann], [a|b]) werden nicht "
                                       "unterstützt; der Text in [...] wird wörtlich mit Gewicht /1.1 kodiert."),
    (r"'\(' is never closed: .*", "'(' wird nie geschlossen: alles danach bekommt das Gewicht x1.1."),
    (r"'\[' is never closed: .*", "'[' wird nie geschlossen: alles danach bekommt das Gewicht /1.1."),
)]

# pydantic's validation messages (InvalidRequest: "where: message; where: message")
VALIDATION = [(re.compile(p), g) for p, g in (
    (r"Input should be less than or equal to (?P<n>\S+)", "Eingabe muss kleiner oder gleich {n} sein"),
    (r"Input should be greater than or equal to (?P<n>\S+)", "Eingabe muss größer oder gleich {n} sein"),
    (r"Input should be less than (?P<n>\S+)", "Eingabe muss kleiner als {n} sein"),
    (r"Input should be greater than (?P<n>\S+)", "Eingabe muss größer als {n} sein"),
    (r"Input should be a multiple of (?P<n>\S+)", "Eingabe muss ein Vielfaches von {n} sein"),
    (r"Input should be a valid integer.*", "Eingabe muss eine ganze Zahl sein"),
    (r"Input should be a valid number.*", "Eingabe muss eine Zahl sein"),
    (r"Input should be a valid string", "Eingabe muss ein Text sein"),
    (r"Input should be a valid boolean.*", "Eingabe muss wahr oder falsch sein"),
    (r"Input should be (?P<choices>'.+)", lambda m: f"Eingabe muss {m['choices'].replace(' or ', ' oder ')} sein"),
    (r"Field required", "Feld fehlt"),
    (r"Extra inputs are not permitted", "Unbekanntes Feld"),
    (r"List should have at least (?P<n>\d+) items? after validation, not (?P<got>\d+)",
     "Die Liste braucht mindestens {n} Einträge, nicht {got}"),
    (r"String should have at most (?P<n>\d+) characters?", "Höchstens {n} Zeichen"),
    (r"String should match pattern (?P<p>'.*')", "Text muss dem Muster {p} entsprechen"),
    (r"Dictionary should have at most (?P<n>\d+) items? after validation.*", "Höchstens {n} Einträge"),
)]


def language(query: str | None, accept: str | None) -> str:
    """The language a request asks for: ?lang=, else the first known one of Accept-Language; else English."""
    if query and query.lower()[:2] in LANGUAGES:
        return query.lower()[:2]
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def translate(kind: str, message: str, status: int, lang: str, titles: dict[str, str] | None = None) -> str:
    """The error `message` (English) in `lang`. `titles`: the policy categories' titles, English -> German."""
    if lang != "de":
        return message
    if kind == "InvalidRequest":
        return "; ".join(_validation(part) for part in message.split("; "))
    german = _by_pattern(message, PATTERNS)
    if german is None:
        summary = SUMMARIES.get(kind) or BY_STATUS.get(status, "Fehler")
        return f"{summary}. Einzelheiten (englisch): {message}"
    for english, title in (titles or {}).items():
        german = german.replace(english, title)
    return german


def say(message: str | None, lang: str) -> str | None:
    """A report's sentence (not an error) in `lang`: the whole, else each '; '-separated part that
    has a German rendering; what has none stays English."""
    if lang != "de" or not message:
        return message
    whole = _by_pattern(message, PROSE)
    if whole is not None:
        return whole
    return "; ".join(_by_pattern(part, PROSE) or part for part in message.split("; "))


def _by_pattern(message: str, patterns) -> str | None:
    for pattern, german in patterns:
        match = pattern.fullmatch(message.strip())
        if match:
            return german(match) if callable(german) else german.format(**match.groupdict())
    return None


def _validation(part: str) -> str:
    where, sep, text = part.rpartition(": ")
    for pattern, german in VALIDATION:
        match = pattern.fullmatch(text)
        if match:
            return f"{where}{sep}{german(match) if callable(german) else german.format(**match.groupdict())}"
    return f"{where}{sep}{text}"
