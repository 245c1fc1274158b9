// Render /api/openapi.json as a list of operations, each with a small "try it" form.
"use strict";

const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("jobsync-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("jobsync-token", tokenInput.value));

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) return resolve(spec, schema.$ref.split("/").slice(1).reduce((o, k) => o[k], spec));
  return schema || {};
}

function sketch(spec, schema, depth = 0) {
  schema = resolve(spec, schema);
  if (depth > 2) return schema.type || "object";
  if (schema.type === "array") return [sketch(spec, schema.items, depth + 1)];
  if (schema.properties) {
    const out = {};
    for (const [name, property] of Object.entries(schema.properties)) out[name] = sketch(spec, property, depth + 1);
    return out;
  }
  return [schema.type, schema.format].filter(Boolean).join(":") || "any";
}

// A starting body: the required properties only, each with an empty value of its type.
function skeleton(spec, schema) {
  schema = resolve(spec, schema);
  const empty = {string: "", integer: 0, number: 0, boolean: false, array: []};
  if (schema.type !== "object" && !schema.properties) return schema.type in empty ? empty[schema.type] : {};
  const out = {};
  for (const name of schema.required || []) out[name] = skeleton(spec, (schema.properties || {})[name]);
  return out;
}

async function send(method, path, form, output) {
  let url = path.replace(/{(\w+)}/g, (_, name) => encodeURIComponent(form.elements["path-" + name].value));
  const query = new URLSearchParams();
  for (const input of form.querySelectorAll("[data-query]")) if (input.value) query.append(input.dataset.query, input.value);
  if ([...query].length) url += "?" + query;
  const headers = {Accept: "application/json"};
  if (tokenInput.value) headers.Authorization = "Token " + tokenInput.value;
  const options = {method: method.toUpperCase(), headers};
  if (form.elements.body && form.elements.body.value.trim()) {
    headers["Content-Type"] = "application/json";
    options.body = form.elements.body.value;
  }
  const response = await fetch(url, options);
  const text = await response.text();
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (error) { /* not JSON: show as is */ }
  output.textContent = `${response.status} ${response.statusText}\n\n${shown}`;
}

function operationView(spec, path, method, operation, shared) {
  const form = element("form");
  for (const parameter of [...shared, ...(operation.parameters || [])].map((p) => resolve(spec, p))) {
    const input = element("input", {name: `${parameter.in}-${parameter.name}`});
    if (parameter.in === "query") input.dataset.query = parameter.name;
    form.append(element("label", {class: "param"}, `${parameter.in} ${parameter.name}`, input));
  }
  const json = operation.requestBody && operation.requestBody.content["application/json"];
  if (json) {
    form.append(element("p", {}, "JSON body:"),
      element("textarea", {name: "body"}, JSON.stringify(skeleton(spec, json.schema), null, 2)),
      element("p", {}, "Fields:"), element("pre", {}, JSON.stringify(sketch(spec, json.schema), null, 2)));
  }
  const output = element("pre");
  const button = element("button", {type: "submit"}, "Send");
  form.append(button);
  form.addEventListener("submit", (event) => { event.preventDefault(); send(method, path, form, output); });
  const responses = element("pre", {}, Object.entries(operation.responses || {}).map(([status, reference]) => {
    const response = resolve(spec, reference);
    const content = response.content && response.content["application/json"];
    return `${status}: ${response.description || ""}` + (content ? "\n" + JSON.stringify(sketch(spec, content.schema), null, 2) : "");
  }).join("\n\n"));
  return element("details", {},
    element("summary", {}, element("span", {class: "method " + method}, method), ` ${path}  `, operation.summary || ""),
    element("div", {class: "body"}, element("p", {}, operation.description || ""), element("h4", {}, "Responses"),
      responses, element("h4", {}, "Try it"), form, output));
}

async function main() {
  const spec = await (await fetch("../openapi.json")).json();
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const tag = (operation.tags || ["other"])[0];
      (byTag[tag] = byTag[tag] || []).push(operationView(spec, path, method, operation, item.parameters || []));
    }
  }
  const main = document.getElementById("operations");
  main.replaceChildren();
  for (const tag of spec.tags || []) {
    if (!byTag[tag.name]) continue;
    main.append(element("h2", {}, tag.name), element("p", {}, tag.description || ""), ...byTag[tag.name]);
  }
}

main().catch((error) => { document.getElementById("operations").textContent = "Could not load the API document: " + error; });
