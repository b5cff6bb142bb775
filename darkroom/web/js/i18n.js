// Two string catalogs (strings-en.js, strings-de.js); step help comes from the schema's
// `description` / `description_de`. Elements name their string with data-i18n (text),
// data-i18n-label (aria-label), data-i18n-alt, data-i18n-title, data-i18n-placeholder.
import en from "./strings-en.js";
import de from "./strings-de.js";

const CATALOGS = { en, de };
const KEY = "darkroom.lang";
let lang = localStorage.getItem(KEY) || (navigator.language || "en").slice(0, 2);
if (!CATALOGS[lang]) lang = "en";
const listeners = [];

export function language() { return lang; }

export function t(key, vars = {}) {
  let text = CATALOGS[lang][key] ?? en[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** Whether a catalog has `key`. */
export function has(key) { return key in CATALOGS[lang] || key in en; }

/** An event kind of the audit log, in words (the kind itself where the catalogs do not know it). */
export function eventKind(kind) { return has(`evk.${kind}`) ? t(`evk.${kind}`) : kind; }

/** A choice of a field (an enum value, a yes/no) in words: the catalog's `enum.FIELD.VALUE`, else the value. */
export function optionLabel(name, value) {
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  const key = `enum.${name}.${value}`;
  return has(key) ? t(key) : String(value);
}

/** A field's label: the catalog's `field.NAME`, else the schema's title. */
export function fieldLabel(name, schema) {
  const key = `field.${name}`;
  return CATALOGS[lang][key] ?? en[key] ?? schema?.title ?? name;
}

/** A schema node's help in the current language. */
export function help(schema) {
  if (!schema) return "";
  return (lang === "de" && schema.description_de) || schema.description || "";
}

export function apply(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [attr, data] of [["aria-label", "i18nLabel"], ["alt", "i18nAlt"], ["title", "i18nTitle"],
                              ["placeholder", "i18nPlaceholder"]]) {
    for (const el of root.querySelectorAll(`[data-${data.replace(/[A-Z]/g, c => "-" + c.toLowerCase())}]`)) {
      el.setAttribute(attr, t(el.dataset[data]));
    }
  }
}

export function setLanguage(value) {
  if (!CATALOGS[value]) return;
  lang = value;
  localStorage.setItem(KEY, value);
  apply();
  for (const fn of listeners) fn(lang);
}

export function onLanguage(fn) { listeners.push(fn); }
