// Deutsche Texte. Die Hilfe zu jedem Feld kommt aus dem Rezept-Schema (`description_de`).
export default {
  "nav.label": "Ansichten", "nav.workspace": "Arbeitsplatz", "nav.library": "Bibliothek", "nav.verify": "Prüfen",
  "nav.privacy": "Datenschutz", "nav.audit": "Protokoll",
  "lang.label": "Sprache", "lang.hint": "Die Sprache des Studios umschalten",
  "yes": "ja", "no": "nein",

  "ws.title": "Negativ belichten", "ws.model": "Modell", "ws.generate": "Erzeugen", "ws.cancel": "Abbrechen",
  "ws.keys": "Strg+Enter erzeugt, Esc bricht ab.", "ws.seedRandom": "Zufall", "ws.seedRandomLong": "Zufälligen Startwert ziehen (-1)",
  "ws.seedReuse": "Letzten", "ws.seedReuseLong": "Letzten Startwert übernehmen", "ws.needPrompt": "Bitte zuerst einen Prompt schreiben.",
  "ws.notInstalled": "nicht installiert", "ws.bootFailed": "Das Studio konnte nicht starten",

  "field.prompt": "Prompt", "field.negative_prompt": "Negativer Prompt", "field.seed": "Startwert", "field.steps": "Schritte",
  "field.cfg": "CFG-Stärke", "field.sampler": "Sampler", "field.width": "Breite", "field.height": "Höhe",
  "field.batch_size": "Anzahl", "field.clip_skip": "Clip skip", "field.denoise": "Entrauschungsstärke",
  "field.scale": "Faktor", "field.upscaler": "Vergrößerer", "field.mask_blur": "Maskenunschärfe",
  "field.mask_grow": "Maske vergrößern", "field.masked_content": "Maskierter Inhalt", "field.inpaint_area": "Malbereich",
  "field.padding": "Rand", "field.color_correction": "Farbkorrektur", "field.left": "Links", "field.right": "Rechts",
  "field.top": "Oben", "field.bottom": "Unten", "field.overlap": "Überlappung", "field.fill_noise": "Füllrauschen",
  "field.resize_width": "Zielbreite", "field.resize_height": "Zielhöhe", "field.vae_tiling": "VAE-Kacheln",
  "field.resize_mode": "Größenanpassung",

  "tok.count": "{n}/{max} Tokens", "tok.chunk": "Abschnitt {i}: {n} von {max} Tokens (Ende: {end})",

  "pr.title": "Entwicklung", "pr.xt": "x_t (verrauschtes Latent)", "pr.x0": "vorhergesagtes x0", "pr.idle": "Bereit.",
  "pr.queue": "Deine Warteschlange", "pr.queued": "In der Warteschlange…", "pr.started": "Gestartet…",
  "pr.step": "Schritt {step}/{total} · {op} · Bild {n}", "pr.done": "Fertig.", "pr.cancelled": "Abgebrochen.",
  "pr.failed": "Fehlgeschlagen: {error}", "pr.cancelling": "Wird abgebrochen…", "pr.pictures": "{n} Bilder",
  "pr.cancelJob": "Den Auftrag von {when} abbrechen",
  "state.queued": "wartet", "state.running": "läuft", "state.done": "fertig", "state.failed": "fehlgeschlagen",
  "state.cancelled": "abgebrochen", "state.interrupted": "unterbrochen",

  "cs.title": "Kontaktbogen", "cs.empty": "Erzeuge eine Serie: ihre Negative erscheinen hier.",
  "cs.developing": "Negativ {n}, in Entwicklung", "cs.negative": "Negativ {n}, Startwert {seed}",
  "cs.choose": "Negativ {n} (Startwert {seed}) auf dem Streifen entwickeln", "cs.seed": "Startwert",
  "cs.keep": "Behalten", "cs.reject": "Verwerfen", "cs.loupe": "Lupe",

  "lp.title": "Lupe", "lp.zoom": "Vergrößerung", "lp.compare": "Vergleichen mit", "lp.none": "nichts",
  "lp.this": "dieses Bild", "lp.other": "Vergleich", "lp.mode": "Ansicht", "lp.side": "nebeneinander", "lp.slider": "Vorher/nachher-Schieber", "lp.split": "Teilung",
  "dlg.close": "Schließen", "dlg.confirm": "Sicher?", "dlg.yes": "Ja", "dlg.no": "Nein",

  "st.title": "Entwicklungsstreifen", "st.steps": "Entwicklungsschritte", "st.addHires": "+ Hires",
  "st.addInpaint": "+ Inpaint", "st.addOutpaint": "+ Outpaint", "st.recipe": "Rezept (JSON)", "st.download": "Herunterladen",
  "st.empty": "Wähle ein Negativ auf dem Kontaktbogen, um es zu entwickeln.",
  "st.noRecipe": "Dieses Bild trägt kein Rezept.", "st.thumb": "Bild nach {op}",
  "st.loupe": "Das Bild nach {op} in der Lupe öffnen", "st.edit": "Ändern…",
  "st.redevelop": "Ab hier neu entwickeln", "st.develop": "Entwickeln", "st.draft": "neu", "st.remove": "Entfernen",
  "st.developing": "Wird entwickelt…",
  "op.generate": "Rohnegativ", "op.hires": "Hires-Fix", "op.img2img": "img2img", "op.inpaint": "Übermalen",
  "op.outpaint": "Erweitern",

  "mask.tools": "Maskenwerkzeuge", "mask.brush": "Pinsel", "mask.eraser": "Radierer", "mask.box": "Rechteck",
  "mask.ellipse": "Ellipse", "mask.size": "Größe", "mask.hardness": "Härte", "mask.invert": "Umkehren",
  "mask.showBlur": "Unschärfe zeigen", "mask.clear": "Leeren", "mask.canvas": "Maske: die neu zu malende Zone bemalen",
  "mask.empty": "Bitte zuerst eine Maske malen: nichts ist zum Übermalen markiert.",

  "lib.filter": "Filter", "lib.project": "Projekt", "lib.model": "Modell", "lib.prompt": "Prompt enthält",
  "lib.since": "Seit", "lib.kept": "Nur behaltene", "lib.apply": "Anzeigen", "lib.pictures": "Bilder",
  "lib.details": "Details", "lib.download": "PNG herunterladen", "lib.develop": "Im Arbeitsplatz entwickeln",
  "lib.provenance": "Herkunft", "lib.lineage": "Abstammung", "lib.infotext": "Infotext", "lib.recipe": "Rezept",
  "lib.none": "Keine Bilder.", "lib.open": "Details zu {op}: {prompt}", "lib.lineageItem": "Schritt {n}: {sha}",

  "vf.title": "Ein Bild prüfen", "vf.drop": "Ein Bild zum Prüfen hier ablegen",
  "vf.hint": "Lege ein Bild hier ab oder wähle eine Datei: Kennzeichnung und Herkunft werden geprüft.",
  "vf.file": "Bilddatei", "vf.ok": "Herkunft intakt", "vf.verdict": "Befund", "vf.marked": "Als KI-generiert gekennzeichnet",
  "vf.c2pa": "C2PA-Manifest",

  "pv.title": "Datenschutz", "pv.retention": "Aufbewahrung", "pv.project": "Projekt", "pv.dry": "Abgelaufenes zeigen",
  "pv.run": "Abgelaufenes löschen", "pv.erase": "Löschen", "pv.eraseWhat": "Projekt oder Bild sha256:",
  "pv.erasePlan": "Löschen…", "pv.expired": "{n} Bilder sind abgelaufen ({bytes} Bytes).",
  "pv.deleted": "{n} abgelaufene Bilder gelöscht ({bytes} Bytes frei).",
  "pv.confirmRetention": "Alle abgelaufenen Bilder jetzt löschen?",
  "pv.confirmErase": "{target} endgültig löschen? Das wird entfernt:", "pv.erased": "Gelöscht.",

  "au.title": "Prüfprotokoll", "au.refresh": "Prüfen und anzeigen", "au.index": "#", "au.time": "Zeit",
  "au.kind": "Ereignis", "au.subject": "Gegenstand", "au.ok": "Die Kette ist intakt ({n} Einträge).",
  "au.broken": "Die Kette ist gebrochen: {message}", "au.admin": "Das Prüfprotokoll ist für Admins.",

  "si.title": "Anmelden", "si.hint": "Dieses Studio braucht ein Token (`darkroom users add NAME` stellt eins aus).",
  "si.token": "Token", "si.submit": "Anmelden", "si.wrong": "Dieses Token ist nicht gültig.", "si.signedIn": "Angemeldet",
};
