"""Every text of the learning mode, in English and German: lesson titles, introductions, figure
captions, what to take away, and the words of the lesson page. The CLI's HTML pages and the web
studio's /learn section (through GET /api/v1/learn) both read them from here."""

from __future__ import annotations

LANGUAGES = ("en", "de")

EN = {
    # ------------------------------------------------------------ 1 noise
    "noise.title": "From noise to image",
    "noise.intro": "Stable Diffusion does not draw. It starts from pure Gaussian noise and, step by step, removes "
                   "the noise it predicts. At every step the model also guesses the finished picture (the predicted "
                   "x0). Watch both: x_t is where the run is, x0 is where it thinks it is going.",
    "noise.strip": "{sampler}: x_t (top) and predicted x0 (bottom) after every step; drag the slider.",
    "noise.strip2": "The same prompt and seed with {sampler}: another path through the noise.",
    "noise.settle": "How far the predicted x0 still is from the final picture, step by step.",
    "noise.plot_title": "Predicted x0 against the final picture",
    "noise.plot_x": "step",
    "noise.plot_y": "mean abs. difference (0-255)",
    "noise.takeaway": "The layout is decided in the first few steps; the later steps refine what is already there. "
                      "A sampler is a way of walking from noise to picture, not a different picture-maker.",
    # ------------------------------------------------------------ 2 seeds
    "seeds.title": "The seed is the guess",
    "seeds.intro": "The seed fixes the starting noise. One prompt, eight seeds: eight different layouts. What the "
                   "prompt leaves open, the noise decides.",
    "seeds.row": "One prompt, eight seeds (the checker's reading below each picture).",
    "seeds.readings": "What the checker reads in each picture.",
    "seeds.takeaway": "A prompt describes a distribution, the seed draws from it. There is no 'perfect on demand': "
                      "you pick a good draw, then develop it.",
    # ------------------------------------------------------------ 3 guidance
    "guidance.title": "Guidance (CFG)",
    "guidance.intro": "Classifier-free guidance runs the model twice per step, with and without the prompt, and "
                      "moves CFG times the difference towards the prompt. Does more guidance buy more obedience? "
                      "The checker measures it.",
    "guidance.row": "One seed at CFG 1, 2, 3, 5, 7 and 12.",
    "guidance.plot": "Prompt-following rate per CFG, measured by the checker over {images} pictures per CFG; the "
                     "shaded band is the 95% interval (Wilson) of 'all five right': what {images} pictures can tell.",
    "guidance.plot_title": "Prompt following and clipped pixels per CFG",
    "guidance.plot_y": "share",
    "guidance.series_mean": "attributes right (mean of 5)",
    "guidance.series_all": "all five right",
    "guidance.series_clipped": "clipped pixel values",
    "guidance.takeaway": "Guidance steers, it does not command: more CFG is not more obedience. Read the plot: "
                         "where the rate stops rising, higher CFG only pushes colours and edges harder (halos, "
                         "clipped values) and can lose what the prompt asked for.",
    # ------------------------------------------------------------ 4 samplers
    "samplers.title": "Steps and samplers",
    "samplers.intro": "More steps cost time in proportion. What do they buy? Three samplers at 4, 8, 20 and 50 "
                      "steps, timed and scored.",
    "samplers.grid": "Rows: Euler a, DPM++ 2M, DDIM; columns: steps.",
    "samplers.time": "Seconds per picture (measured on this machine).",
    "samplers.score": "The checker's score (mean of five attributes) over {images} prompts.",
    "samplers.time_title": "Time per picture",
    "samplers.score_title": "Prompt following per step count",
    "samplers.steps": "steps",
    "samplers.seconds": "seconds",
    "samplers.score_y": "attributes right (mean of 5)",
    "samplers.takeaway": "The time grows with every step; what the picture shows is settled much earlier (read "
                         "the score plot: on darkroom-mini a few steps already give what 50 give). More steps "
                         "polish, they do not change what the picture is. Ancestral samplers (Euler a) add fresh "
                         "noise at every step, so their pictures keep changing with the step count.",
    # ------------------------------------------------------------ 5 tokens
    "tokens.title": "Tokens",
    "tokens.intro": "The text encoder does not read words but tokens, 75 at a time (plus start and end: 77). A longer "
                    "prompt is cut into chunks that are encoded separately; BREAK starts a new chunk on purpose. "
                    "(word:1.4) scales that word's embedding.",
    "tokens.tokens": "The prompt as Stable Diffusion's CLIP tokenizer cuts it.",
    "tokens.chunks": "A long prompt ({count} tokens) with a BREAK: the chunks and why each one ends.",
    "tokens.weights": "The same seed with the weight of '{word}' from 0 to 3.",
    "tokens.takeaway": "Weights and BREAK change what the encoder emphasises, not what the model can do: a heavy "
                       "weight pushes the picture off its trained range long before it makes the word 'win'.",
    # ------------------------------------------------------------ 6 hires
    "hires.title": "Hi-Res Fix sharpens, it does not repair",
    "hires.intro": "Hi-Res Fix upscales a raw and denoises it again. Low denoise keeps the layout and sharpens it; "
                   "high denoise repaints. Does it repair what came out wrong in the raw? The checker counts, per "
                   "denoise, what was kept and what was repaired.",
    "hires.row": "Raw {n} (wrong: {wrong}) and its hires fix at denoise 0.4 to 1.0.",
    "hires.plot": "Measured by the checker over {raws} raws that came out wrong. On darkroom-mini the error is a "
                  "shape (the raw's object is a blob the checker reads as another shape), and the prompt fixes the "
                  "layout (colours, position, size), so even denoise 1.0 paints the same layout again. 'Error still "
                  "there': the same wrong shape is read; 'repaired': the prompt's shape is read.",
    "hires.plot_title": "Hi-Res Fix per denoise",
    "hires.plot_y": "share",
    "hires.series_kept": "attributes kept from the raw",
    "hires.series_still": "error still there",
    "hires.series_repaired": "error repaired",
    "hires.takeaway": "Up to a moderate denoise the hires fix keeps the raw with its error: it sharpens what is "
                      "there. Higher, it paints the object anew, and the error goes only where the new outline "
                      "happens to come out right: a new draw, not a repair. Choose the raw for its layout, hires-fix "
                      "it at a moderate denoise; to fix a part, inpaint it.",
    # ------------------------------------------------------------ 7 inpaint
    "inpaint.title": "Inpainting is development",
    "inpaint.intro": "Inpainting repaints one zone with its own prompt and keeps every other pixel. It is not a "
                     "confession of failure but the next step of developing a negative.",
    "inpaint.before_after": "Raw {n} (wrong: {wrong}) and the zone repaired.",
    "inpaint.blur": "Mask blur 0, 4 and 12 pixels, and where the pixels changed (white).",
    "inpaint.area": "Inpaint area 'whole picture' against 'only masked' (the zone repainted at full resolution).",
    "inpaint.takeaway": "Keep what is right, repaint what is wrong: a blurred edge blends the zone in, 'only masked' "
                        "gives a small zone the model's full resolution.",
    # ------------------------------------------------------------ 8 training
    "training.title": "Training is influence, not a fix",
    "training.intro": "A LoRA teaches the model something new; it also moves what it knew. Here it learns a word "
                      "darkroom-mini never read, 'teal', from pictures of teal objects, and the checker measures "
                      "what the word now draws and what the old prompts lost.",
    "training.vae": "Why the new colour cannot come out teal: a teal training picture and what darkroom-mini's VAE "
                    "makes of it. The VAE learned eight colours and draws every other one as one of them; a LoRA "
                    "on the UNet learns its examples as the VAE shows them.",
    "training.waits": "This lesson waits for the LoRA trainer (issue 14).",
    "training.loss": "A tiny LoRA run (darkroom.train) on pictures of the new colour: the loss per step.",
    "training.loss_title": "LoRA training loss",
    "training.loss_x": "step",
    "training.new": "The new word '{concept}' without the LoRA (the model never saw it: it draws a guess) and with "
                    "it (the colour the VAE makes of {concept}, every time).",
    "training.old": "Prompts the model already followed, without and with the LoRA.",
    "training.cost": "What the LoRA costs the old concepts: the checker over {prompts} known prompts.",
    "training.takeaway": "Training pulls the model towards its examples as the model can see them; it does not "
                         "add a switch. The word is learned, the colour is not: what the VAE cannot draw, no LoRA "
                         "on the UNet can teach. And the new word comes with a shift in what the model already did, "
                         "so a LoRA is weighed, not just applied.",
    # ------------------------------------------------------------ 9 schedule
    "schedule.title": "Why the schedule matters",
    "schedule.intro": "Training adds noise by a schedule. SD's scaled-linear schedule never reaches pure noise: at "
                      "its last step a little signal remains, and the mean colour of a picture averages the noise "
                      "away and stays readable. The model learns to take the overall brightness and colour from the "
                      "noise, which at inference holds none. darkroom-mini was trained with zero terminal SNR.",
    "schedule.snr": "Signal-to-noise ratio of one value (per pixel) per timestep.",
    "schedule.image_snr": "SNR of the picture's mean (per image): N values average the noise N-fold.",
    "schedule.noised": "A render, noised to t=999 by both schedules, and the mean colour that x_999 alone gives away.",
    "schedule.leak": "img2img from a render with another background: denoise 1 starts at zero SNR; at t={twin} the "
                     "zero-SNR schedule has the SNR of SD's last step.",
    "schedule.input": "input: {colour} background",
    "schedule.snr_title": "Per-pixel SNR",
    "schedule.image_title": "Per-image SNR (the mean colour)",
    "schedule.takeaway": "A schedule that leaks at its last step teaches the model a shortcut it cannot use at "
                         "inference: medium-grey pictures, no true black or white. Zero terminal SNR (with "
                         "v-prediction and trailing timesteps) closes the leak.",
    # ------------------------------------------------------------ the page
    "ui.learn": "Learn",
    "ui.lessons": "Lessons",
    "ui.run": "Run the lesson",
    "ui.short": "short form",
    "ui.running": "Running…",
    "ui.done": "Done in {seconds} s",
    "ui.failed": "Failed: {error}",
    "ui.open": "open in studio",
    "ui.recipe": "recipe",
    "ui.numbers": "Measured",
    "ui.takeaway": "What to take away",
    "ui.model": "Model",
    "ui.step": "step {step} of {total}",
    "ui.mini_only": "darkroom-mini only (the checker reads its world)",
    "ui.waits": "waits for the LoRA trainer (issue 14)",
    "ui.back": "Back to the studio",
    "ui.made_with": "Made with darkroom on {model}; every picture carries its recipe (darkroom replay FILE).",
}

DE = {
    "noise.title": "Vom Rauschen zum Bild",
    "noise.intro": "Stable Diffusion zeichnet nicht. Es beginnt mit reinem Gaußschen Rauschen und entfernt Schritt "
                   "für Schritt das Rauschen, das es vorhersagt. Bei jedem Schritt schätzt das Modell auch das "
                   "fertige Bild (das vorhergesagte x0). Beobachten Sie beide: x_t ist, wo der Lauf steht, x0, "
                   "wohin er zu gehen glaubt.",
    "noise.strip": "{sampler}: x_t (oben) und vorhergesagtes x0 (unten) nach jedem Schritt; ziehen Sie am Regler.",
    "noise.strip2": "Derselbe Prompt und Startwert mit {sampler}: ein anderer Weg durch das Rauschen.",
    "noise.settle": "Wie weit das vorhergesagte x0 noch vom fertigen Bild entfernt ist, Schritt für Schritt.",
    "noise.plot_title": "Vorhergesagtes x0 gegen das fertige Bild",
    "noise.plot_x": "Schritt",
    "noise.plot_y": "mittlere abs. Differenz (0-255)",
    "noise.takeaway": "Die Bildaufteilung entscheidet sich in den ersten Schritten; die späteren verfeinern, was "
                      "schon da ist. Ein Sampler ist ein Weg vom Rauschen zum Bild, kein anderer Bildmacher.",
    "seeds.title": "Der Startwert ist der Wurf",
    "seeds.intro": "Der Startwert (Seed) legt das Anfangsrauschen fest. Ein Prompt, acht Startwerte: acht "
                   "verschiedene Bildaufteilungen. Was der Prompt offen lässt, entscheidet das Rauschen.",
    "seeds.row": "Ein Prompt, acht Startwerte (unter jedem Bild, was der Prüfer liest).",
    "seeds.readings": "Was der Prüfer in jedem Bild liest.",
    "seeds.takeaway": "Ein Prompt beschreibt eine Verteilung, der Startwert zieht daraus. 'Perfekt auf Bestellung' "
                      "gibt es nicht: Man wählt einen guten Wurf und entwickelt ihn weiter.",
    "guidance.title": "Prompt-Führung (CFG)",
    "guidance.intro": "Classifier-free Guidance lässt das Modell je Schritt zweimal rechnen, mit und ohne Prompt, "
                      "und geht CFG-mal den Unterschied in Richtung Prompt. Bringt mehr Führung mehr Gehorsam? Der "
                      "Prüfer misst es.",
    "guidance.row": "Ein Startwert bei CFG 1, 2, 3, 5, 7 und 12.",
    "guidance.plot": "Anteil befolgter Prompt-Angaben je CFG, gemessen vom Prüfer an {images} Bildern je CFG; das "
                     "Band ist das 95-%-Intervall (Wilson) von 'alle fünf richtig': so genau sind {images} Bilder.",
    "guidance.plot_title": "Prompt-Treue und abgeschnittene Pixel je CFG",
    "guidance.plot_y": "Anteil",
    "guidance.series_mean": "Merkmale richtig (Mittel aus 5)",
    "guidance.series_all": "alle fünf richtig",
    "guidance.series_clipped": "abgeschnittene Pixelwerte",
    "guidance.takeaway": "Die Führung lenkt, sie befiehlt nicht: Mehr CFG ist nicht mehr Gehorsam. Lesen Sie die "
                         "Kurve: Wo die Rate nicht mehr steigt, drückt höhere CFG nur Farben und Kanten stärker "
                         "(Säume, abgeschnittene Werte) und kann verlieren, was der Prompt verlangte.",
    "samplers.title": "Schritte und Sampler",
    "samplers.intro": "Mehr Schritte kosten proportional mehr Zeit. Was bringen sie? Drei Sampler mit 4, 8, 20 und "
                      "50 Schritten, gestoppt und bewertet.",
    "samplers.grid": "Zeilen: Euler a, DPM++ 2M, DDIM; Spalten: Schritte.",
    "samplers.time": "Sekunden pro Bild (auf diesem Rechner gemessen).",
    "samplers.score": "Bewertung des Prüfers (Mittel aus fünf Merkmalen) über {images} Prompts.",
    "samplers.time_title": "Zeit pro Bild",
    "samplers.score_title": "Prompt-Treue je Schrittzahl",
    "samplers.steps": "Schritte",
    "samplers.seconds": "Sekunden",
    "samplers.score_y": "Merkmale richtig (Mittel aus 5)",
    "samplers.takeaway": "Die Zeit wächst mit jedem Schritt; was das Bild zeigt, steht viel früher fest (siehe die "
                         "Bewertung: bei darkroom-mini geben wenige Schritte schon, was 50 geben). Mehr Schritte "
                         "polieren, sie ändern nicht, was das Bild ist. Ancestral-Sampler (Euler a) fügen bei jedem "
                         "Schritt neues Rauschen hinzu, ihre Bilder ändern sich deshalb mit der Schrittzahl.",
    "tokens.title": "Tokens",
    "tokens.intro": "Der Text-Encoder liest keine Wörter, sondern Tokens, 75 auf einmal (plus Anfang und Ende: 77). "
                    "Ein längerer Prompt wird in Abschnitte geschnitten, die einzeln kodiert werden; BREAK beginnt "
                    "absichtlich einen neuen. (wort:1.4) skaliert die Einbettung dieses Wortes.",
    "tokens.tokens": "Der Prompt, wie ihn der CLIP-Tokenizer von Stable Diffusion schneidet.",
    "tokens.chunks": "Ein langer Prompt ({count} Tokens) mit BREAK: die Abschnitte und warum jeder endet.",
    "tokens.weights": "Derselbe Startwert mit dem Gewicht von '{word}' von 0 bis 3.",
    "tokens.takeaway": "Gewichte und BREAK ändern, was der Encoder betont, nicht, was das Modell kann: Ein schweres "
                       "Gewicht schiebt das Bild aus seinem trainierten Bereich, lange bevor das Wort 'gewinnt'.",
    "hires.title": "Hires-Fix schärft, er repariert nicht",
    "hires.intro": "Hires-Fix vergrößert ein Rohbild und entrauscht es erneut. Wenig Entrauschen behält die "
                   "Aufteilung und schärft sie; viel Entrauschen malt neu. Repariert er, was im Rohbild falsch ist? "
                   "Der Prüfer zählt je Entrauschen, was erhalten und was repariert wurde.",
    "hires.row": "Rohbild {n} (falsch: {wrong}) und sein Hires-Fix bei Entrauschen 0,4 bis 1,0.",
    "hires.plot": "Gemessen vom Prüfer an {raws} misslungenen Rohbildern. Bei darkroom-mini ist der Fehler eine "
                  "Form (das Objekt des Rohbilds ist ein Fleck, den der Prüfer als andere Form liest), und der Prompt "
                  "legt die Aufteilung fest (Farben, Position, Größe): Selbst Entrauschen 1,0 malt dieselbe "
                  "Aufteilung wieder. 'Fehler noch da': Dieselbe falsche Form wird gelesen; 'repariert': Die Form des "
                  "Prompts wird gelesen.",
    "hires.plot_title": "Hires-Fix je Entrauschen",
    "hires.plot_y": "Anteil",
    "hires.series_kept": "Merkmale des Rohbilds behalten",
    "hires.series_still": "Fehler noch da",
    "hires.series_repaired": "Fehler repariert",
    "hires.takeaway": "Bis zu mäßigem Entrauschen behält der Hires-Fix das Rohbild samt Fehler: Er schärft, was "
                      "da ist. Darüber malt er das Objekt neu, und der Fehler verschwindet nur, wo der neue Umriss "
                      "zufällig stimmt: ein neuer Wurf, keine Reparatur. Wählen Sie das Rohbild nach seiner "
                      "Aufteilung, dann den Hires-Fix mit mäßigem Entrauschen; um einen Teil zu reparieren: "
                      "Inpainting.",
    "inpaint.title": "Inpainting ist Entwicklung",
    "inpaint.intro": "Inpainting malt eine Zone mit ihrem eigenen Prompt neu und behält jedes andere Pixel. Es ist "
                     "kein Eingeständnis des Scheiterns, sondern der nächste Schritt beim Entwickeln eines Negativs.",
    "inpaint.before_after": "Rohbild {n} (falsch: {wrong}) und die reparierte Zone.",
    "inpaint.blur": "Maskenweichzeichnung 0, 4 und 12 Pixel, und wo sich Pixel änderten (weiß).",
    "inpaint.area": "Inpaint-Bereich 'ganzes Bild' gegen 'nur maskiert' (die Zone in voller Auflösung neu gemalt).",
    "inpaint.takeaway": "Behalte, was stimmt, male neu, was falsch ist: Eine weiche Kante fügt die Zone ein, 'nur "
                        "maskiert' gibt einer kleinen Zone die volle Auflösung des Modells.",
    "training.title": "Training ist Einfluss, keine Reparatur",
    "training.intro": "Ein LoRA bringt dem Modell etwas Neues bei; es verschiebt auch, was es schon konnte. Hier "
                      "lernt es ein Wort, das darkroom-mini nie gelesen hat, 'teal' (Petrol), aus Bildern petrolfarbener "
                      "Objekte, und der Prüfer misst, was das Wort jetzt zeichnet und was die alten Prompts verloren.",
    "training.vae": "Warum die neue Farbe nicht petrol herauskommen kann: ein Trainingsbild in Teal und was der VAE "
                    "von darkroom-mini daraus macht. Der VAE hat acht Farben gelernt und zeichnet jede andere als "
                    "eine von ihnen; ein LoRA auf dem UNet lernt seine Beispiele so, wie der VAE sie zeigt.",
    "training.waits": "Diese Lektion wartet auf den LoRA-Trainer (Issue 14).",
    "training.loss": "Ein winziger LoRA-Lauf (darkroom.train) auf Bildern der neuen Farbe: der Verlust je Schritt.",
    "training.loss_title": "Trainingsverlust des LoRA",
    "training.loss_x": "Schritt",
    "training.new": "Das neue Wort '{concept}' ohne LoRA (das Modell kannte es nie: Es rät) und mit (die Farbe, "
                    "die der VAE aus {concept} macht, jedes Mal).",
    "training.old": "Prompts, denen das Modell schon folgte, ohne und mit LoRA.",
    "training.cost": "Was das LoRA die alten Konzepte kostet: der Prüfer über {prompts} bekannte Prompts.",
    "training.takeaway": "Training zieht das Modell zu seinen Beispielen hin, so wie das Modell sie sehen kann; "
                         "es fügt keinen Schalter hinzu. Das Wort wird gelernt, die Farbe nicht: Was der VAE nicht "
                         "zeichnen kann, bringt kein LoRA auf dem UNet bei. Und das neue Wort kommt mit einer "
                         "Verschiebung dessen, was das Modell schon konnte: Ein LoRA wird abgewogen, nicht einfach "
                         "angewendet.",
    "schedule.title": "Warum der Rauschplan zählt",
    "schedule.intro": "Im Training wird Rauschen nach einem Plan hinzugefügt. Der scaled-linear-Plan von SD erreicht "
                      "nie reines Rauschen: Im letzten Schritt bleibt etwas Signal, und die mittlere Farbe eines "
                      "Bildes "
                      "mittelt das Rauschen weg und bleibt lesbar. Das Modell lernt, Helligkeit und Farbe aus dem "
                      "Rauschen zu nehmen, das bei der Erzeugung keine enthält. darkroom-mini wurde mit Null-SNR am "
                      "Ende trainiert.",
    "schedule.snr": "Signal-Rausch-Verhältnis eines Wertes (pro Pixel) je Zeitschritt.",
    "schedule.image_snr": "SNR des Bildmittels (pro Bild): N Werte mitteln das Rauschen N-fach weg.",
    "schedule.noised": "Ein Bild, mit beiden Plänen auf t=999 verrauscht, und die mittlere Farbe, die x_999 allein "
                       "verrät.",
    "schedule.leak": "img2img von einem Bild mit anderem Hintergrund: Entrauschen 1 beginnt bei SNR null; bei "
                     "t={twin} hat der Null-SNR-Plan das SNR von SDs letztem Schritt.",
    "schedule.input": "Eingabe: Hintergrund {colour}",
    "schedule.snr_title": "SNR pro Pixel",
    "schedule.image_title": "SNR pro Bild (die mittlere Farbe)",
    "schedule.takeaway": "Ein Plan, der im letzten Schritt leckt, lehrt das Modell eine Abkürzung, die es bei der "
                         "Erzeugung nicht nutzen kann: mittelgraue Bilder, kein echtes Schwarz oder Weiß. Null-SNR am "
                         "Ende (mit v-Vorhersage und 'trailing'-Zeitschritten) schließt das Leck.",
    "ui.learn": "Lernen",
    "ui.lessons": "Lektionen",
    "ui.run": "Lektion starten",
    "ui.short": "Kurzform",
    "ui.running": "Läuft…",
    "ui.done": "Fertig in {seconds} s",
    "ui.failed": "Fehlgeschlagen: {error}",
    "ui.open": "im Studio öffnen",
    "ui.recipe": "Rezept",
    "ui.numbers": "Gemessen",
    "ui.takeaway": "Was man mitnimmt",
    "ui.model": "Modell",
    "ui.step": "Schritt {step} von {total}",
    "ui.mini_only": "nur darkroom-mini (der Prüfer liest dessen Welt)",
    "ui.waits": "wartet auf den LoRA-Trainer (Issue 14)",
    "ui.back": "Zurück ins Studio",
    "ui.made_with": "Mit darkroom auf {model} gemacht; jedes Bild trägt sein Rezept (darkroom replay DATEI).",
}

TEXTS = {"en": EN, "de": DE}

# The words of labels, table headers, plot series and the names of the measured numbers (which stay English in
# numbers.json, as data): German for what is shown. Prompt words (colours, shapes) stay: the model reads English.
TERMS_DE = {
    "frames captured": "erfasste Bilder", "x0 to final, mean abs /255 at step 1": "x0 zum fertigen Bild, mittlere "
    "abs. Differenz /255 bei Schritt 1", "step from which x0 stays within 10/255 of the final": "Schritt, ab dem x0 "
    "innerhalb von 10/255 am fertigen Bild bleibt", "different layouts (background, position, size)":
    "verschiedene Bildaufteilungen (Hintergrund, Position, Größe)", "all: 95% interval": "alle: 95-%-Intervall",
    "clipped pixels": "abgeschnittene Pixel", "images": "Bilder", "seconds per image": "Sekunden je Bild",
    "checker mean": "Mittel des Prüfers", "steps": "Schritte", "colour read at weight": "gelesene Farbe bei Gewicht",
    "attributes kept": "behaltene Merkmale", "error repaired": "Fehler repariert",
    "error still there": "Fehler noch da", "largest change outside the zone "
    "(0..255)": "größte Änderung außerhalb der Zone (0..255)", "training steps": "Trainingsschritte",
    "training seconds": "Trainingssekunden", "examples": "Beispiele", "final loss": "letzter Loss",
    "teal pixels before / after": "Pixel in Teal vorher / nachher",
    "colour the VAE makes of a teal picture": "Farbe, die der VAE aus einem Bild in Teal macht",
    "'teal' prompts read as, before / after": "'teal'-Prompts gelesen als, vorher / nachher",
    "'teal' prompts in the VAE's teal": "'teal'-Prompts im Teal des VAE", "training picture": "Trainingsbild",
    "through the VAE": "durch den VAE", "old prompts, checker without / with the LoRA":
    "bekannte Prompts, Prüfer ohne / mit LoRA", "SD last step": "SDs letzter Schritt", "SNR of the mean":
    "SNR des Mittelwerts", "per-pixel SNR": "SNR pro Pixel", "t with SD's last-step SNR": "t mit der SNR von SDs "
    "letztem Schritt", "background read from x_999 alone": "Hintergrund allein aus x_999 gelesen", "chance": "Zufall",
    "img2img: input background survives": "img2img: der Hintergrund der Eingabe bleibt", "starts at": "beginnt bei",
    "raws": "Rohbilder", "wrong": "falsch", "seed": "Startwert", "note": "Hinweis", "no raw came out wrong among "
    "the seeds tried": "unter den versuchten Startwerten kam kein Rohbild falsch heraus", "of": "von",
    "long prompt tokens": "Tokens des langen Prompts", "long prompt chunks": "Abschnitte des langen Prompts",
    "warnings": "Warnungen", "tokens": "Tokens", "raw": "Rohbild", "after": "nachher", "before": "vorher",
    "blur": "Unschärfe", "changed": "verändert", "whole": "ganzes Bild", "masked": "nur maskiert", "with LoRA":
    "mit LoRA", "without LoRA": "ohne LoRA", "mean colour": "mittlere Farbe", "background": "Hintergrund",
    "colour": "Farbe", "size": "Größe", "shape": "Form", "token": "Token", "id": "ID", "weight": "Gewicht",
    "chunk": "Abschnitt", "ends with": "endet mit", "all": "alle", "without": "ohne", "with": "mit", "full": "voll",
    "comma": "Komma", "end": "Ende", "loss": "Loss", "denoise": "Entrauschen", "color": "Farbe", "mean": "Mittel",
    "prompt": "Prompt", "position": "Position",
    "zero terminal SNR": "Null-SNR am Ende", "scaled linear (SD)": "scaled-linear (SD)",
}
TERMS = {"de": TERMS_DE}
_PATTERNS: dict = {}


def term(lang: str, shown: str) -> str:
    """`shown` (a label, header or the name of a number) with its known words in `lang`, longest phrases first."""
    import re

    terms = TERMS.get(lang)
    if not terms or not isinstance(shown, str):
        return shown
    if lang not in _PATTERNS:
        words = sorted(terms, key=len, reverse=True)
        _PATTERNS[lang] = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
    return _PATTERNS[lang].sub(lambda m: terms[m.group(1)], shown)


def terms(lang: str, value):
    """A measured number's value for showing: dict keys and strings through `term`, the rest as it is."""
    if isinstance(value, dict):  # a prompt stays as the model read it
        return {term(lang, k): v if k == "prompt" else terms(lang, v) for k, v in value.items()}
    if isinstance(value, list):
        return [terms(lang, v) for v in value]
    return term(lang, value)


def text(lang: str, key: str, **values) -> str:
    """The text `key` in `lang` (English where German lacks it), with {names} filled in."""
    found = TEXTS.get(lang, EN).get(key, EN.get(key, key))
    return found.format(**values) if values else found
