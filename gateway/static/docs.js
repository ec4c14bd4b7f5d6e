// Renders the operations and schemas of /openapi.json. Text goes in with
// textContent only, so nothing in the document can inject markup.
"use strict";

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : "";
}

function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema);
  if (schema.type === "array") return typeOf(schema.items) + "[]";
  if (schema.type === "object" && schema.additionalProperties) {
    return "map of " + typeOf(schema.additionalProperties);
  }
  return [schema.type, schema.format].filter(Boolean).join(" ") || "any";
}

function table(headings, rows) {
  const grid = element("table");
  const head = grid.insertRow();
  headings.forEach((heading) => head.appendChild(element("th", heading)));
  rows.forEach((cells) => {
    const row = grid.insertRow();
    cells.forEach((cell) => {
      const td = row.insertCell();
      td.appendChild(typeof cell === "string" ? element("span", cell, "text") : cell);
    });
  });
  return grid;
}

function parameterRows(parameters) {
  return parameters.map((p) => [
    element("code", p.name),
    p.in + (p.required ? " (required)" : ""),
    typeOf(p.schema),
    p.description || "",
  ]);
}

function bodyOf(operation) {
  const body = operation.requestBody;
  if (!body) return null;
  const schema = body.content["application/json"].schema;
  if (schema.$ref) return element("p", "Body: " + refName(schema));
  const rows = Object.entries(schema.properties || {}).map(([name, field]) => [
    element("code", name),
    typeOf(field) + ((schema.required || []).includes(name) ? " (required)" : ""),
    field.description || "",
  ]);
  return table(["body field", "type", "meaning"], rows);
}

function operationBlock(path, method, operation) {
  const block = element("details");
  const summary = element("summary");
  summary.appendChild(element("span", method.toUpperCase(), "method " + method.toUpperCase()));
  summary.appendChild(element("span", path + "  ", "path"));
  summary.appendChild(element("span", operation.summary || ""));
  block.appendChild(summary);
  const inner = element("div", undefined, "body");
  inner.appendChild(element("p", "operationId: " + operation.operationId, "flag"));
  inner.appendChild(element("p", operation.description || "", "text"));
  if ((operation.parameters || []).length) {
    inner.appendChild(table(["parameter", "in", "type", "meaning"],
                            parameterRows(operation.parameters)));
  }
  const body = bodyOf(operation);
  if (body) inner.appendChild(body);
  const reply = operation.responses["200"];
  if (reply && reply.content) {
    inner.appendChild(element("p", "Reply: " + typeOf(reply.content["application/json"].schema)));
  }
  inner.appendChild(element("p", "Errors: google.rpc.Status", "flag"));
  block.appendChild(inner);
  return block;
}

function renderOperations(doc) {
  const target = document.getElementById("operations");
  target.textContent = "";
  const byTag = new Map();
  Object.entries(doc.paths).forEach(([path, methods]) => {
    Object.entries(methods).forEach(([method, operation]) => {
      const tag = (operation.tags || ["Other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationBlock(path, method, operation));
    });
  });
  const described = new Map((doc.tags || []).map((t) => [t.name, t.description]));
  byTag.forEach((blocks, tag) => {
    target.appendChild(element("h2", tag));
    if (described.get(tag)) target.appendChild(element("p", described.get(tag), "text"));
    blocks.forEach((block) => target.appendChild(block));
  });
}

function renderSchemas(doc) {
  const target = document.getElementById("schemas");
  Object.entries(doc.components.schemas).forEach(([name, schema]) => {
    const block = element("details");
    block.id = name;
    block.appendChild(element("summary", name, "path"));
    const inner = element("div", undefined, "body");
    inner.appendChild(element("p", schema.description || "", "text"));
    if (schema.enum) {
      inner.appendChild(element("p", "One of: " + schema.enum.join(", "), "flag"));
    }
    const rows = Object.entries(schema.properties || {}).map(([field, spec]) => {
      const flags = [];
      if ((schema.required || []).includes(field)) flags.push("required");
      if (spec.readOnly) flags.push("read-only");
      if (spec.writeOnly) flags.push("write-only");
      return [element("code", field), typeOf(spec), flags.join(", "), spec.description || ""];
    });
    if (rows.length) inner.appendChild(table(["field", "type", "", "meaning"], rows));
    block.appendChild(inner);
    target.appendChild(block);
  });
}

fetch("/openapi.json")
  .then((answer) => answer.json())
  .then((doc) => {
    document.getElementById("intro").textContent = doc.info.description || "";
    renderOperations(doc);
    renderSchemas(doc);
  })
  .catch((error) => {
    document.getElementById("operations").textContent =
      "The document could not be loaded: " + error;
  });
