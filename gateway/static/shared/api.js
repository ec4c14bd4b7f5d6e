// Calls to the vaxbook REST API of this origin, signed in by the session
// cookie. Changes repeat the CSRF cookie's value in X-CSRF-Token, as the
// gateway requires of every POST, PATCH and DELETE the cookie signs in.
"use strict";

const vaxbookApi = (() => {
  const CSRF_COOKIE = "vaxbook_csrf";

  function cookie(name) {
    const prefix = name + "=";
    const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : "";
  }

  function requestId() {
    return crypto.randomUUID().replaceAll("-", "");
  }

  // The failure of a call: the Status body's message, ErrorInfo reason and
  // BadRequest field violations.
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "HTTP " + status);
      this.status = status;
      const details = (body && body.details) || [];
      const of = (type) => details.find((d) => String(d["@type"]).endsWith(type));
      const info = of("google.rpc.ErrorInfo");
      this.reason = info ? info.reason : "";
      const badRequest = of("google.rpc.BadRequest");
      this.violations = badRequest ? badRequest.fieldViolations || [] : [];
    }
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      const csrf = cookie(CSRF_COOKIE);
      if (csrf) headers["X-CSRF-Token"] = csrf;
    }
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : {};
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  return {
    get: (path, params) => {
      const query = params ? "?" + new URLSearchParams(params) : "";
      return call("GET", path + query);
    },
    post: (path, body) => call("POST", path, body || {}),
    patch: (path, body, params) => {
      const query = params ? "?" + new URLSearchParams(params) : "";
      return call("PATCH", path + query, body || {});
    },
    requestId,
    signedIn: () => cookie(CSRF_COOKIE) !== "",
    ApiError,
  };
})();

// Small helpers for building the pages' DOM without HTML strings.
const vaxbookDom = {
  el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== false && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  },
  // Renders an SVG document as nodes of this page (no inline markup).
  svg(text) {
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const node = document.importNode(parsed.documentElement, true);
    // A viewBox lets the image scale to the width the page gives it.
    const width = parseFloat(node.getAttribute("width"));
    const height = parseFloat(node.getAttribute("height"));
    if (!node.hasAttribute("viewBox") && width && height) {
      node.setAttribute("viewBox", "0 0 " + width + " " + height);
    }
    return node;
  },
  // A blob URL for base64 bytes, for a download link.
  blobUrl(base64, type) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return URL.createObjectURL(new Blob([bytes], { type }));
  },
};
