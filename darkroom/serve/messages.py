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
    "TooManyRequests": "Zu viele Aufträge", "BadRequest": "Fehlerhafte Anfrage",
    "UnprocessableEntity": "Nicht verarbeitbar", "UnprocessableContent": "Nicht verarbeitbar",
}
BY_STATUS = {400: "Fehlerhafte Anfrage", 401: "Anmeldung nötig", 403: "Nicht erlaubt", 404: "Nicht gefunden",
             409: "Konflikt", 410: "Nicht mehr da", 422: "Ungültige Eingabe", 429: "Zu viele Aufträge"}


def _faces(match: re.Match) -> str:
    people = match["people"]
    return "ein Gesicht" if people == "a face" else people.replace("faces", "Gesichter")


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
     "Der Upload ist kein lesbares Bild (PNG, JPEG oder WebP): {why}"),
    (r"name either a project or an image to erase", "Nennen Sie entweder ein Projekt oder ein Bild zum Löschen."),
    (r"unknown model (?P<name>'[^']*')\. Known models: (?P<names>[^.]*)\..*",
     "Unbekanntes Modell {name}. Bekannte Modelle: {names}. Mit `darkroom models add PATH [--name NAME]` kommt "
     "eines hinzu."),
    (r"blocked by policy (?P<v>\S+): (?P<why>.+?)\. This category is absolute.*",
     "Blockiert durch Richtlinie {v}: {why}. Diese Kategorie ist absolut und lässt sich nicht abschalten. "
     "Formulieren Sie den Prompt um."),
    (r"blocked by policy (?P<v>\S+): (?P<why>.+?)\. Rephrase the prompt; an administrator.*",
     "Blockiert durch Richtlinie {v}: {why}. Formulieren Sie den Prompt um; ein Administrator kann diese "
     "Kategorie in den Einstellungen ändern."),
    (r"this server does not answer to host (?P<host>.+?); start it with --allowed-host NAME.*",
     "Dieser Server antwortet nicht auf den Host {host}; starten Sie ihn mit --allowed-host NAME."),
    (r"requests from (?P<origin>\S+) are not allowed;.*",
     "Anfragen von {origin} sind nicht erlaubt; starten Sie den Server mit --cors-origin, um eine Web-App dort "
     "zuzulassen."),
    (r"the picture sha256:(?P<sha>\S+) carries no recipe.*", "Das Bild sha256:{sha} trägt kein Rezept."),
    (r"project (?P<p>.+) belongs to another user; choose another project name",
     "Projekt {p} gehört einem anderen Benutzer; wählen Sie einen anderen Projektnamen."),
    (r"the mask is empty after shrinking it by (?P<n>\d+) pixels; shrink it less",
     "Die Maske ist leer, nachdem sie um {n} Pixel verkleinert wurde; verkleinern Sie sie weniger."),
    (r"this server takes at most (?P<n>\d+) queued jobs.*", "Dieser Server nimmt höchstens {n} wartende Aufträge."),
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


def translate(kind: str, message: str, status: int, lang: str) -> str:
    """`message` (English) in `lang`."""
    if lang != "de":
        return message
    if kind == "InvalidRequest":
        return "; ".join(_validation(part) for part in message.split("; "))
    for pattern, german in PATTERNS:
        match = pattern.fullmatch(message.strip())
        if match:
            return german(match) if callable(german) else german.format(**match.groupdict())
    summary = SUMMARIES.get(kind) or BY_STATUS.get(status, "Fehler")
    return f"{summary}. Einzelheiten (englisch): {message}"


def _validation(part: str) -> str:
    where, sep, text = part.rpartition(": ")
    for pattern, german in VALIDATION:
        match = pattern.fullmatch(text)
        if match:
            return f"{where}{sep}{german(match) if callable(german) else german.format(**match.groupdict())}"
    return f"{where}{sep}{text}"
