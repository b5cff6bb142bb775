// A photo of a person is refused (403 ConsentRequired) until the user confirms a lawful basis:
// at upload (nothing is stored before) and again, as the server records it, for the job that
// edits it. The consent dialog asks for the basis and the optional visible "KI-generiert /
// AI-generated" label; the answer given at upload goes with the jobs that use that picture.
import * as api from "./api.js";
import { t } from "./i18n.js";

const $ = id => document.getElementById(id);

/** `detail`: which picture, how many faces (the server's message up to its first colon, or our own words). */
export function askConsent(detail) {
  return new Promise(resolve => {
    const dialog = $("consent");
    $("consent-detail").textContent = detail;
    $("consent-label").checked = false;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"
      ? { consent: $("consent-basis").value, label: $("consent-label").checked } : null), { once: true });
    dialog.showModal();
    $("consent-basis").focus();
  });
}

const consents = new Map(); // "sha256:..." of an uploaded photo -> {consent, label} confirmed at its upload

/** POST /inputs with a photo: asks for consent when it shows a face, before the server stores it. Returns the ref, or null. */
export async function uploadPhoto(file) {
  try {
    return (await api.postBytes("inputs?guard=true", file)).ref;
  } catch (err) {
    if (err.kind !== "ConsentRequired") throw err;
    const answer = await askConsent(t("cn.upload", { name: file.name }));
    if (!answer) return null;
    const { ref } = await api.postBytes(`inputs?guard=true&consent=${encodeURIComponent(answer.consent)}`, file);
    consents.set(ref, answer);
    return ref;
  }
}

/** POST /jobs with `body`; asks for consent when the server needs it. Returns the job, or null if the user declined. */
export async function submitJob(body) {
  const given = body.recipe.steps.map(step => consents.get(step.image)).find(Boolean);
  if (given && !body.consent) body = { ...body, ...given };
  try {
    return await api.post("jobs", body);
  } catch (err) {
    if (err.kind !== "ConsentRequired" || body.consent) throw err;
    const answer = await askConsent(err.message.split(": ")[0]);
    return answer ? api.post("jobs", { ...body, ...answer }) : null;
  }
}
