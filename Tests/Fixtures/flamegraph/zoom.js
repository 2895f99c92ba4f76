// Runs a swift-pmp flame graph's inline script in node against a minimal stand-in for the SVG DOM, clicks the
// frames named on the command line one after the other, and prints after each click one JSON line: every frame
// with its x, width, label, and whether it is hidden or dimmed.
//   node zoom.js GRAPH.svg NAME...
"use strict";
const fs = require("fs");

const svg = fs.readFileSync(process.argv[2], "utf8");
const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
  .replace(/&apos;/g, "'").replace(/&amp;/g, "&");

function element(attributes, text) {
  return {
    attributes, textContent: text, style: {}, listeners: {},
    getAttribute(name) { return this.attributes[name]; },
    setAttribute(name, value) { this.attributes[name] = String(value); },
    addEventListener(type, listener) { this.listeners[type] = listener; },
  };
}

const attributesOf = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
const groups = [];
for (const m of svg.matchAll(/<g class="f"><title>(.*?)<\/title><rect ([^>]*)\/><text ([^>]*)>(.*?)<\/text><\/g>/g)) {
  const parts = { title: element({}, unescape(m[1])), rect: element(attributesOf(m[2]), ""),
                  text: element(attributesOf(m[3]), unescape(m[4])) };
  const group = element({ class: "f" }, "");
  group.querySelector = (selector) => parts[selector];
  groups.push(group);
}
const script = svg.slice(svg.indexOf("<![CDATA[") + 9, svg.indexOf("]]>"));
const document = { querySelectorAll: (selector) => (selector === "g.f" ? groups : []) };
new Function("document", script)(document);

const nameOf = (group) => {
  const title = group.querySelector("title").textContent;
  return title.slice(0, title.lastIndexOf(" ("));
};
for (const name of process.argv.slice(3)) {
  const target = groups.find((group) => nameOf(group) === name);
  if (!target) { console.error(`no frame named ${name}`); process.exit(2); }
  target.listeners.click();
  console.log(JSON.stringify(groups.map((group) => ({
    name: nameOf(group),
    x: Number(group.querySelector("rect").getAttribute("x")),
    width: Number(group.querySelector("rect").getAttribute("width")),
    label: group.querySelector("text").textContent,
    hidden: group.style.display === "none",
    dimmed: group.style.opacity === "0.6",
  }))));
}
