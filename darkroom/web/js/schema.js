// Forms built from the recipe's JSON schema (GET /api/v1/schema/recipe): every field, range,
// default, choice and description comes from the step models; nothing is listed twice here.
import { fieldLabel, help, optionLabel } from "./i18n.js";

export function resolve(root, node) {
  while (node && node.$ref) node = root.$defs[node.$ref.split("/").pop()];
  return node;
}

/** The schema of the step with this `op`. */
export function stepSchema(root, op) {
  const mapping = root.properties.steps.items.discriminator.mapping;
  return resolve(root, { $ref: mapping[op] });
}

export function stepOps(root) {
  return Object.keys(root.properties.steps.items.discriminator.mapping);
}

/** {type, nullable, enum, minimum, maximum, multipleOf, ...} of a property, with anyOf [X, null] unwrapped. */
export function describe(root, prop) {
  let node = resolve(root, prop);
  let nullable = false;
  if (node.anyOf) {
    const others = node.anyOf.filter(n => n.type !== "null");
    nullable = others.length < node.anyOf.length;
    node = { ...resolve(root, others[0]), ...Object.fromEntries(Object.entries(node).filter(([k]) => k !== "anyOf")) };
  }
  return { ...node, nullable };
}

let counter = 0;

/**
 * Build the fields of a step schema into `container`.
 * options: values (initial), skip (names), choices ({name: [..]} overriding the schema's enum),
 *          extras ({name: (wrapper, input, form) => void}), prefix (id prefix).
 */
export function buildForm(root, schema, container, options = {}) {
  const { values = {}, skip = [], choices = {}, extras = {}, prefix = `f${++counter}` } = options;
  const inputs = {};
  const parts = [];
  container.replaceChildren();
  for (const [name, prop] of Object.entries(schema.properties)) {
    const info = describe(root, prop);
    if (name === "op" || "const" in info || skip.includes(name) || info.oneOf || info.discriminator) continue;
    const id = `${prefix}-${name}`;
    const wrapper = document.createElement("div");
    wrapper.className = `field field-${name}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    const hint = document.createElement("small");
    hint.id = `${id}-help`;
    hint.className = "help";
    let input;
    const enumValues = choices[name] || info.enum;
    if (enumValues) {
      input = document.createElement("select");
      if (info.nullable) input.append(new Option("—", ""));
      for (const value of enumValues) input.append(new Option(optionLabel(name, value), value));
    } else if (info.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      wrapper.classList.add("check");
    } else if (info.type === "integer" || info.type === "number") {
      input = document.createElement("input");
      input.type = "number";
      if (info.minimum !== undefined) input.min = info.minimum;
      if (info.maximum !== undefined) input.max = info.maximum;
      input.step = info.multipleOf ?? (info.type === "integer" ? 1 : "any");
      input.inputMode = info.type === "integer" ? "numeric" : "decimal";
    } else if (name.endsWith("prompt")) {
      input = document.createElement("textarea");
      input.rows = name === "prompt" ? 3 : 2;
      input.spellcheck = false;
    } else {
      input = document.createElement("input");
      input.type = "text";
    }
    input.id = id;
    input.name = name;
    input.setAttribute("aria-describedby", hint.id);
    if (!info.nullable && !("default" in info) && info.type !== "boolean") input.required = true;
    if (info.nullable) input.placeholder = "—";
    const initial = name in values ? values[name] : info.default;
    setValue(input, initial);
    wrapper.append(label, input, hint);
    container.append(wrapper);
    inputs[name] = { input, info, label, hint, wrapper };
    parts.push(name);
  }
  const form = {
    inputs,
    relabel() {
      for (const [name, { label, hint, info, input }] of Object.entries(inputs)) {
        label.textContent = fieldLabel(name, info);
        hint.textContent = help(info);
        if (input.tagName === "SELECT") for (const option of input.options) if (option.value) option.text = optionLabel(name, option.value);
      }
    },
    values() {
      const out = {};
      for (const [name, { input, info }] of Object.entries(inputs)) {
        const value = readValue(input, info);
        if (value === undefined) continue;
        out[name] = value;
      }
      return out;
    },
    set(name, value) { if (inputs[name]) setValue(inputs[name].input, value); },
  };
  form.relabel();
  for (const [name, hook] of Object.entries(extras)) if (inputs[name]) hook(inputs[name].wrapper, inputs[name].input, form);
  return form;
}

function setValue(input, value) {
  if (input.type === "checkbox") input.checked = Boolean(value);
  else input.value = value === null || value === undefined ? "" : String(value);
}

function readValue(input, info) {
  if (input.type === "checkbox") return input.checked;
  const text = input.value.trim();
  if (text === "") {
    if (info.nullable) return undefined;
    if ("default" in info) return info.default;
    return info.type === "string" ? "" : undefined;
  }
  if (info.type === "integer") return Number.parseInt(text, 10);
  if (info.type === "number") return Number.parseFloat(text);
  return input.tagName === "TEXTAREA" ? input.value : text;
}
