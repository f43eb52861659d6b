/* The rule editor's forms (admin/templates/rules, groups, roles, workflows): the condition
   builder, repeatable blocks, inputs shown only for some choices, the live SKU count of a group
   and the preview. No build step and nothing inline: the builder's data comes from a
   <script type="application/json"> block. The server checks everything again on save. */
(function () {
  "use strict";

  // ---------------------------------------------------------------- small helpers
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key === "text") { node.textContent = value; }
      else if (key === "className") { node.className = value; }
      else { node.setAttribute(key, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }

  function format(template, args) {
    return template.replace(/\{(\d)\}/g, function (_, i) { return args[+i]; });
  }

  function isObject(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }

  function onlyKey(x) {
    if (!isObject(x)) { return null; }
    var keys = Object.keys(x);
    return keys.length === 1 ? keys[0] : null;
  }

  function numberText(n) {
    return (typeof n === "number" && isFinite(n)) ? String(n) : String(n);
  }

  function splitList(text) {
    return String(text || "").split(/[,，、;；\n]+/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
  }

  // ---------------------------------------------------------------- the condition builder
  var COMPARE = ["<", "<=", ">", ">=", "==", "!="];
  var SYMBOL = { "<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠" };
  var OPS_BY_TYPE = {
    number: COMPARE,
    string: ["==", "!=", "one_of", "has_text"],
    array: ["contains"],
    boolean: ["=="]
  };

  function Builder(root, input, sentenceNode, data) {
    this.root = root;
    this.input = input;
    this.sentenceNode = sentenceNode;
    this.data = data;
    this.facts = {};
    var self = this;
    data.facts.forEach(function (f) { self.facts[f.path] = f; });
    this.tree = null;
  }

  Builder.prototype.fact = function (path) {
    if (this.facts[path]) { return this.facts[path]; }
    if (typeof path === "string" && path.indexOf("params.") === 0) {
      return { path: path, label: path.slice(7), type: "number", nullable: true, root: "params", default: 0 };
    }
    return null;
  };

  // JsonLogic → tree; null when the builder cannot show it.
  Builder.prototype.parse = function (logic) {
    var node = this.parseNode(logic);
    if (!node) { return null; }
    return node.type === "group" ? node : { type: "group", op: "and", items: [node] };
  };

  Builder.prototype.parseNode = function (logic) {
    var op = onlyKey(logic);
    if (!op) { return null; }
    var args = logic[op];
    if (op === "and" || op === "or") {
      if (!Array.isArray(args) || !args.length) { return null; }
      var items = [];
      for (var i = 0; i < args.length; i++) {
        var child = this.parseNode(args[i]);
        if (!child) { return null; }
        items.push(child);
      }
      return { type: "group", op: op, items: items };
    }
    return this.parseCondition(op, args);
  };

  // {"var": path} or {"var": [path, default]} → {path, dflt}: dflt is null without a default,
  // else text ("9999" for a number, or the text default of a text fact, kept as it is).
  Builder.prototype.parseVar = function (x) {
    if (onlyKey(x) !== "var") { return null; }
    var name = x["var"], dflt = null;
    if (Array.isArray(name)) {
      if (name.length === 2 && typeof name[1] === "number") { dflt = String(name[1]); }
      else if (name.length === 2 && typeof name[1] === "string") { dflt = name[1]; }
      else if (name.length !== 1) { return null; }
      name = name[0];
    }
    if (typeof name !== "string" || !this.fact(name)) { return null; }
    var fact = this.fact(name);
    if (dflt !== null && (fact.type === "number") !== (typeof x["var"][1] === "number")) { return null; }
    return { path: name, dflt: dflt };
  };

  Builder.prototype.parseCondition = function (op, args) {
    if (!Array.isArray(args) || args.length !== 2) { return null; }
    if (op === "===") { op = "=="; }
    if (op === "!==") { op = "!="; }
    var left, right, cond;
    if (COMPARE.indexOf(op) >= 0) {
      left = this.parseVar(args[0]);
      if (!left) { return null; }
      cond = { type: "cond", left: left.path, leftDefault: left.dflt, op: op, kind: "number",
               value: "", right: "", rightDefault: null };
      var type = this.fact(left.path).type;
      right = args[1];
      var factor = null;
      if (onlyKey(right) === "*" && Array.isArray(right["*"]) && right["*"].length === 2
          && typeof right["*"][1] === "number") {
        factor = numberText(right["*"][1]);  // another figure × a number
        right = right["*"][0];
      }
      if (onlyKey(right) === "var") {
        var rv = this.parseVar(right);
        if (!rv || this.fact(rv.path).type !== "number") { return null; }
        cond.kind = "fact"; cond.right = rv.path; cond.rightDefault = rv.dflt;
        cond.factor = factor === null ? "" : factor;
      } else if (factor !== null) { return null; } else if (typeof right === "number" && type === "number") {
        cond.value = numberText(right);
      } else if (typeof right === "string" && type === "string") {
        cond.kind = "text"; cond.value = right;
      } else if (typeof right === "boolean" && type === "boolean") {
        cond.kind = "bool"; cond.value = right ? "true" : "false";
      } else { return null; }
      if (OPS_BY_TYPE[type].indexOf(op) < 0) { return null; }
      return cond;
    }
    if (op === "in") {
      var a = args[0], b = args[1];
      if (typeof a === "string") {
        right = this.parseVar(b);
        if (!right) { return null; }
        var t = this.fact(right.path).type;
        if (t !== "array" && t !== "string") { return null; }
        return { type: "cond", left: right.path, leftDefault: right.dflt,
                 op: t === "array" ? "contains" : "has_text", kind: "text", value: a,
                 right: "", rightDefault: null };
      }
      left = this.parseVar(a);
      if (left && Array.isArray(b) && b.length && b.every(function (v) { return typeof v === "string"; })
          && this.fact(left.path).type === "string") {
        return { type: "cond", left: left.path, leftDefault: left.dflt, op: "one_of", kind: "list",
                 value: b.join(", "), right: "", rightDefault: null };
      }
    }
    return null;
  };

  Builder.prototype.emptyCondition = function () {
    return { type: "cond", left: "", leftDefault: null, op: "<", kind: "number", value: "",
             right: "", rightDefault: null };
  };

  // tree → JsonLogic (null when there is nothing yet)
  Builder.prototype.serialize = function (node) {
    var self = this;
    if (node.type === "group") {
      var items = node.items.map(function (n) { return self.serialize(n); })
        .filter(function (x) { return x !== null; });
      if (!items.length) { return null; }
      if (items.length === 1) { return items[0]; }
      var out = {};
      out[node.op] = items;
      return out;
    }
    if (!node.left) { return null; }
    var fact = this.fact(node.left);
    var left = this.varOf(node.left, node.leftDefault);
    if (node.op === "contains" || node.op === "has_text") { return { "in": [node.value, left] }; }
    if (node.op === "one_of") { return { "in": [left, splitList(node.value)] }; }
    var right;
    if (node.kind === "fact") {
      right = node.right ? this.varOf(node.right, node.rightDefault) : "";
      if (node.right && node.factor && isFinite(Number(node.factor)) && Number(node.factor) !== 1) {
        right = { "*": [right, Number(node.factor)] };
      }
    } else if (fact.type === "number") {
      right = node.value === "" || !isFinite(Number(node.value)) ? node.value : Number(node.value);
    } else if (fact.type === "boolean") {
      right = node.value !== "false";
    } else {
      right = node.value;
    }
    var cmp = {};
    cmp[node.op] = [left, right];
    return cmp;
  };

  Builder.prototype.varOf = function (path, dflt) {
    var fact = this.fact(path);
    if (dflt === null || dflt === undefined) { return { "var": path }; }
    if (fact && fact.type === "number") {
      return dflt !== "" && isFinite(Number(dflt)) ? { "var": [path, Number(dflt)] } : { "var": path };
    }
    return { "var": [path, dflt] };
  };

  Builder.prototype.incomplete = function (node) {
    var self = this;
    if (node.type === "group") {
      return node.items.some(function (n) { return self.incomplete(n); });
    }
    if (!node.left) { return true; }
    if (node.kind === "fact") { return !node.right; }
    if (node.kind === "bool") { return false; }
    if (this.fact(node.left).type === "number") {
      return node.value === "" || !isFinite(Number(node.value));
    }
    return node.value === "";
  };

  // ---------------------------------------------------------------- the sentence
  Builder.prototype.sentence = function (node, nested) {
    var self = this, w = this.data.words;
    if (node.type === "group") {
      var parts = node.items.map(function (n) { return self.sentence(n, true); })
        .filter(function (s) { return s; });
      if (!parts.length) { return ""; }
      var text = parts.join(w[node.op]);
      return (nested && parts.length > 1) ? "(" + text + ")" : text;
    }
    var missing = this.data.text.missing;
    if (!node.left) { return ""; }
    var left = this.label(node.left, node.leftDefault);
    var quote = function (v) { return format(w.quote, [v]); };
    if (node.op === "contains") { return format(w.contains, [left, quote(node.value || missing)]); }
    if (node.op === "has_text") { return format(w.in_text, [quote(node.value || missing), left]); }
    if (node.op === "one_of") {
      var items = splitList(node.value).map(quote).join(w.sep) || missing;
      return format(w.one_of, [left, items]);
    }
    var right;
    if (node.kind === "fact") {
      right = node.right ? this.label(node.right, node.rightDefault) : missing;
      if (node.right && node.factor && isFinite(Number(node.factor)) && Number(node.factor) !== 1) {
        right += " × " + numberText(Number(node.factor));
      }
    }
    else if (node.kind === "bool") { right = node.value === "false" ? w.no : w.yes; }
    else if (node.kind === "text") { right = node.value === "" ? missing : quote(node.value); }
    else { right = node.value === "" ? missing : String(node.value); }
    return left + " " + SYMBOL[node.op] + " " + right;
  };

  Builder.prototype.label = function (path, dflt) {
    var fact = this.fact(path);
    var label = fact ? fact.label : path;
    if (dflt !== "" && dflt !== undefined && dflt !== null) {
      label += format(this.data.words["default"], [label, dflt]);
    }
    return label;
  };

  // ---------------------------------------------------------------- drawing
  Builder.prototype.update = function () {
    var logic = this.tree ? this.serialize(this.tree) : null;
    this.input.value = logic === null ? "" : JSON.stringify(logic);
    var text = this.tree ? this.sentence(this.tree, false) : "";
    this.sentenceNode.textContent = text || "—";
    var self = this;
    this.root.querySelectorAll(".cb-row").forEach(function (row) {
      row.classList.toggle("cb-incomplete", !!row.cond && self.incomplete(row.cond));
    });
  };

  Builder.prototype.draw = function () {
    this.root.innerHTML = "";
    this.root.appendChild(this.drawGroup(this.tree, null));
    this.update();
  };

  Builder.prototype.redraw = function () {
    var focused = document.activeElement && document.activeElement.getAttribute("data-focus-key");
    this.draw();
    if (focused) {
      var again = this.root.querySelector('[data-focus-key="' + focused + '"]');
      if (again) { again.focus(); }
    }
  };

  Builder.prototype.drawGroup = function (group, parent) {
    var self = this, t = this.data.text;
    var box = h("div", { className: "cb-group" + (parent ? " cb-nested" : ""), "data-op": group.op });
    var head = h("div", { className: "cb-group-head" });
    var toggle = h("div", { className: "segmented cb-andor", role: "group" });
    ["and", "or"].forEach(function (op) {
      var button = h("button", { type: "button", className: "cb-andor-" + op,
                                 "aria-pressed": group.op === op ? "true" : "false",
                                 text: op === "and" ? t.all : t.any });
      button.addEventListener("click", function () { group.op = op; self.redraw(); });
      toggle.appendChild(button);
    });
    head.appendChild(toggle);
    if (parent) {
      var drop = h("button", { type: "button", className: "btn btn-sm btn-quiet cb-remove-group",
                               text: t.remove_group });
      drop.addEventListener("click", function () {
        parent.items.splice(parent.items.indexOf(group), 1);
        self.redraw();
      });
      head.appendChild(drop);
    }
    box.appendChild(head);
    var list = h("div", { className: "cb-items" });
    if (!group.items.length) { list.appendChild(h("p", { className: "help", text: t.empty })); }
    group.items.forEach(function (item) {
      list.appendChild(item.type === "group" ? self.drawGroup(item, group) : self.drawRow(item, group));
    });
    box.appendChild(list);
    var adders = h("div", { className: "cb-adders" });
    var addRow = h("button", { type: "button", className: "btn btn-sm cb-add-row", text: t.add_row });
    addRow.addEventListener("click", function () { group.items.push(self.emptyCondition()); self.redraw(); });
    adders.appendChild(addRow);
    var addGroup = h("button", { type: "button", className: "btn btn-sm cb-add-group", text: t.add_group });
    addGroup.addEventListener("click", function () {
      group.items.push({ type: "group", op: group.op === "and" ? "or" : "and",
                         items: [self.emptyCondition()] });
      self.redraw();
    });
    adders.appendChild(addGroup);
    box.appendChild(adders);
    return box;
  };

  Builder.prototype.factSelect = function (value, filterType, className, label) {
    var self = this;
    var select = h("select", { className: className, "aria-label": label });
    select.appendChild(h("option", { value: "", text: this.data.text.choose_fact }));
    var groups = {};
    this.data.facts.forEach(function (f) {
      if (filterType && f.type !== filterType) { return; }
      if (!groups[f.root]) {
        groups[f.root] = h("optgroup", { label: self.data.roots[f.root] || f.root });
        select.appendChild(groups[f.root]);
      }
      groups[f.root].appendChild(h("option", { value: f.path, text: f.label, selected: f.path === value }));
    });
    if (value && !this.facts[value]) {
      select.appendChild(h("option", { value: value, text: value, selected: true }));
    }
    return select;
  };

  Builder.prototype.defaultInput = function (value, className, fact) {
    var t = this.data.text;
    var wrap = h("label", { className: "cb-default-wrap" }, [h("span", { className: "muted small", text: t.if_empty })]);
    var input = h("input", { type: "number", step: "any", className: "input-num " + className,
                             value: value === null ? "" : value, placeholder: String(fact["default"]) });
    wrap.appendChild(input);
    return { wrap: wrap, input: input };
  };

  Builder.prototype.drawRow = function (cond, group) {
    var self = this, t = this.data.text;
    var key = Math.random().toString(36).slice(2);
    var row = h("div", { className: "cb-row" });
    row.cond = cond;
    var fact = cond.left ? this.fact(cond.left) : null;
    var leftSelect = this.factSelect(cond.left, null, "cb-fact", t.choose_fact);
    leftSelect.setAttribute("data-focus-key", key + "-fact");
    leftSelect.addEventListener("change", function () {
      var before = cond.left ? self.fact(cond.left) : null;
      cond.left = leftSelect.value;
      var now = cond.left ? self.fact(cond.left) : null;
      if (now && (!before || before.type !== now.type)) {
        cond.op = OPS_BY_TYPE[now.type][0];
        cond.kind = now.type === "number" ? "number" : now.type === "boolean" ? "bool"
          : (cond.op === "one_of" ? "list" : "text");
        cond.value = now.type === "boolean" ? "true" : "";
        cond.right = ""; cond.rightDefault = null;
      }
      cond.leftDefault = now && now.nullable && now.type === "number" ? String(now["default"]) : null;
      self.redraw();
    });
    row.appendChild(leftSelect);
    if (fact && fact.nullable && fact.type === "number") {
      var d = this.defaultInput(cond.leftDefault, "cb-default", fact);
      d.input.addEventListener("input", function () { cond.leftDefault = d.input.value.trim(); self.update(); });
      row.appendChild(d.wrap);
    }
    if (fact) {
      var opSelect = h("select", { className: "cb-op", "aria-label": t.ops["<"] });
      OPS_BY_TYPE[fact.type].forEach(function (op) {
        var text = SYMBOL[op] ? SYMBOL[op] + " " + t.ops[op] : t.ops[op];
        opSelect.appendChild(h("option", { value: op, text: text, selected: op === cond.op }));
      });
      opSelect.setAttribute("data-focus-key", key + "-op");
      opSelect.addEventListener("change", function () {
        cond.op = opSelect.value;
        if (cond.op === "one_of") { cond.kind = "list"; }
        else if (fact.type === "string") { cond.kind = cond.kind === "fact" ? "fact" : "text"; }
        self.redraw();
      });
      row.appendChild(opSelect);
      this.drawValue(row, cond, fact, key);
    }
    var remove = h("button", { type: "button", className: "btn btn-sm btn-quiet cb-remove",
                               title: t.remove, "aria-label": t.remove, text: "✕" });
    remove.addEventListener("click", function () {
      group.items.splice(group.items.indexOf(cond), 1);
      self.redraw();
    });
    row.appendChild(remove);
    return row;
  };

  Builder.prototype.drawValue = function (row, cond, fact, key) {
    var self = this, t = this.data.text;
    if (fact.type === "boolean") {
      var yesNo = h("select", { className: "cb-value" });
      [["true", this.data.words.yes], ["false", this.data.words.no]].forEach(function (o) {
        yesNo.appendChild(h("option", { value: o[0], text: o[1], selected: cond.value === o[0] }));
      });
      yesNo.addEventListener("change", function () { cond.value = yesNo.value; self.update(); });
      cond.kind = "bool";
      if (!cond.value) { cond.value = "true"; }
      row.appendChild(yesNo);
      return;
    }
    var canCompareFacts = fact.type === "number" && COMPARE.indexOf(cond.op) >= 0;
    if (canCompareFacts) {
      var kind = h("select", { className: "cb-kind", "aria-label": t.value_number });
      [["number", t.value_number], ["fact", t.value_fact]].forEach(function (o) {
        kind.appendChild(h("option", { value: o[0], text: o[1], selected: cond.kind === o[0] }));
      });
      kind.setAttribute("data-focus-key", key + "-kind");
      kind.addEventListener("change", function () { cond.kind = kind.value; self.redraw(); });
      row.appendChild(kind);
    }
    if (cond.kind === "fact" && canCompareFacts) {
      var right = this.factSelect(cond.right, "number", "cb-rfact", t.value_fact);
      right.setAttribute("data-focus-key", key + "-rfact");
      right.addEventListener("change", function () {
        cond.right = right.value;
        var rf = cond.right ? self.fact(cond.right) : null;
        cond.rightDefault = rf && rf.nullable ? String(rf["default"]) : null;
        self.redraw();
      });
      row.appendChild(right);
      var rfact = cond.right ? this.fact(cond.right) : null;
      if (rfact && rfact.nullable) {
        var d = this.defaultInput(cond.rightDefault, "cb-rdefault", rfact);
        d.input.addEventListener("input", function () { cond.rightDefault = d.input.value.trim(); self.update(); });
        row.appendChild(d.wrap);
      }
      var times = h("label", { className: "cb-factor-wrap" }, [h("span", { className: "muted", text: "×" })]);
      var factor = h("input", { type: "number", step: "any", className: "input-num cb-factor",
                                value: cond.factor || "", placeholder: "1", "aria-label": t.factor });
      factor.addEventListener("input", function () { cond.factor = factor.value.trim(); self.update(); });
      times.appendChild(factor);
      row.appendChild(times);
      return;
    }
    if (cond.kind === "fact") { cond.kind = fact.type === "number" ? "number" : "text"; }
    var numeric = fact.type === "number";
    var input = h("input", {
      type: numeric ? "number" : "text", step: numeric ? "any" : null,
      className: "cb-value" + (numeric ? " input-num" : ""), value: cond.value,
      placeholder: cond.op === "one_of" ? t.list_hint : null, "aria-label": t.value_number
    });
    input.setAttribute("data-focus-key", key + "-value");
    input.addEventListener("input", function () { cond.value = input.value; self.update(); });
    row.appendChild(input);
  };

  function startBuilder() {
    var root = document.getElementById("condition-builder");
    var dataNode = document.getElementById("rule-builder-data");
    if (!root || !dataNode) { return; }
    var data = JSON.parse(dataNode.textContent);
    var input = document.getElementById("when-input");
    var builder = new Builder(root, input, document.getElementById("when-sentence"), data);
    var readonly = document.getElementById("when-readonly");
    var current = null;
    if (input.value) {
      try { current = JSON.parse(input.value); } catch (e) { current = undefined; }
    }
    if (current === null) {
      builder.tree = { type: "group", op: "and", items: [builder.emptyCondition()] };
    } else {
      builder.tree = current === undefined ? null : builder.parse(current);
    }
    var form = root.closest("form");
    var warning = h("p", { className: "form-error cb-warning", role: "alert", text: data.text.incomplete });
    form.addEventListener("submit", function (event) {
      if (builder.tree && builder.incomplete(builder.tree)) {
        event.preventDefault();
        if (!warning.parentNode) { root.parentNode.insertBefore(warning, root); }
        root.classList.add("show-incomplete");
        root.scrollIntoView({ block: "center" });
      }
    });
    var settle = function () {
      if (warning.parentNode && !(builder.tree && builder.incomplete(builder.tree))) { warning.remove(); }
    };
    root.addEventListener("input", settle);
    root.addEventListener("change", settle);
    root.addEventListener("click", function () { setTimeout(settle, 0); });
    if (!builder.tree) {
      readonly.hidden = false;  // kept as it is; the sentence shows it
      document.getElementById("when-rewrite").addEventListener("click", function () {
        readonly.hidden = true;
        root.hidden = false;
        builder.tree = { type: "group", op: "and", items: [builder.emptyCondition()] };
        builder.draw();
      });
      return;
    }
    root.hidden = false;
    builder.draw();
  }

  // ---------------------------------------------------------------- repeatable blocks
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-from]");
    if (add) {
      var template = document.getElementById(add.getAttribute("data-add-from"));
      var target = document.getElementById(add.getAttribute("data-add-to"));
      var placeholder = add.getAttribute("data-placeholder") || "__i__";
      var next = parseInt(target.getAttribute("data-next") || "0", 10);
      target.setAttribute("data-next", String(next + 1));
      var html = template.innerHTML.split(placeholder).join(String(next));
      var holder = document.createElement("template");  // parses <tr> rows too
      holder.innerHTML = html;
      var added = Array.prototype.filter.call(holder.content.childNodes, function (n) { return n.nodeType === 1; });
      target.appendChild(holder.content);
      var form = target.closest("form");
      if (form) { syncStates(form); }
      refreshShown(form || document);
      target.dispatchEvent(new Event("change", { bubbles: true }));
      var first = added.length && added[0].querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-repeat-remove]");
    if (remove) {
      var item = remove.closest("[data-repeat-item]");
      var parent = item && item.parentNode;
      if (item) { item.remove(); }
      if (parent) { parent.dispatchEvent(new Event("change", { bubbles: true })); }
    }
  });

  // Workflow form: the state lists (initial, from, to) follow the states typed above.
  function syncStates(form) {
    var source = form.querySelector("[data-states-source]");
    if (!source) { return; }
    var states = splitList(source.value);
    form.querySelectorAll("select[data-states-select]").forEach(function (select) {
      var current = select.value;
      var placeholder = select.querySelector('option[value=""]');
      select.innerHTML = "";
      if (placeholder) { select.appendChild(placeholder); }
      states.concat(current && states.indexOf(current) < 0 ? [current] : []).forEach(function (s) {
        select.appendChild(h("option", { value: s, text: s, selected: s === current }));
      });
      if (!current && !placeholder && states.length) { select.value = states[0]; }
    });
    form.querySelectorAll("[data-states-checks]").forEach(function (box) {
      var name = box.getAttribute("data-name");
      var checked = Array.prototype.map.call(box.querySelectorAll("input:checked"), function (i) { return i.value; });
      box.innerHTML = "";
      states.concat(checked.filter(function (c) { return states.indexOf(c) < 0; })).forEach(function (s) {
        var input = h("input", { type: "checkbox", name: name, value: s, checked: checked.indexOf(s) >= 0 });
        box.appendChild(h("label", { className: "check chip-check" + (states.indexOf(s) < 0 ? " unknown" : "") },
                          [input, h("span", { text: s })]));
      });
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-states-source")) { syncStates(event.target.form); }
  });

  // "Insert…" next to a task title: a value placeholder at the cursor.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("insert-var") || !select.value) { return; }
    var field = document.getElementById(select.getAttribute("data-into"));
    if (field) {
      var start = field.selectionStart === null ? field.value.length : field.selectionStart;
      var end = field.selectionEnd === null ? field.value.length : field.selectionEnd;
      field.value = field.value.slice(0, start) + select.value + field.value.slice(end);
      field.focus();
      field.setSelectionRange(start + select.value.length, start + select.value.length);
      showTitleExample(field);
    }
    select.value = "";
  });

  // Under a task title: how it reads for one real SKU×warehouse, instead of {{ placeholders }}.
  var exampleTimers = {};
  function showTitleExample(field) {
    var note = document.querySelector('[data-example-for="' + field.id + '"]');
    if (!note) { return; }
    clearTimeout(exampleTimers[field.id]);
    exampleTimers[field.id] = setTimeout(function () {
      var url = note.getAttribute("data-url") + "?text=" + encodeURIComponent(field.value);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && data.said) { note.textContent = data.said; } })
        .catch(function () {});
    }, 300);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field.id && document.querySelector('[data-example-for="' + field.id + '"]')) { showTitleExample(field); }
  });

  // ---------------------------------------------------------------- inputs shown for some choices
  function valueOf(form, name) {
    var fields = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if ((f.type === "radio" || f.type === "checkbox")) { if (f.checked) { return f.value; } }
      else { return f.value; }
    }
    return "";
  }

  function refreshShown(scope) {
    var form = scope.closest ? (scope.closest("form") || scope) : scope;
    (form.querySelectorAll ? form : document).querySelectorAll("[data-show-if]").forEach(function (node) {
      var rule = node.getAttribute("data-show-if").split("=");
      var wanted = rule[1].split("|");
      node.hidden = wanted.indexOf(valueOf(form, rule[0])) < 0;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.form) { refreshShown(event.target.form); }
  });

  // ---------------------------------------------------------------- the live count of a group
  function countGroup(scope) {
    var url = scope.getAttribute("data-count-url");
    var params = new URLSearchParams();
    scope.querySelectorAll("input, textarea, select").forEach(function (f) {
      if (!f.name || f.name.indexOf("g_") !== 0) { return; }
      if ((f.type === "checkbox" || f.type === "radio") && !f.checked) { return; }
      params.append(f.name, f.value);
    });
    var output = scope.querySelector("[data-count-output]");
    var sample = scope.querySelector("[data-count-sample]");
    var ticket = (scope._ticket || 0) + 1;
    scope._ticket = ticket;
    scope.classList.add("is-counting");
    fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (answer) {
        if (ticket !== scope._ticket) { return; }
        output.textContent = answer.text;
        output.setAttribute("data-count", answer.count === null ? "" : String(answer.count));
        sample.textContent = answer.sample && answer.sample.length && answer.count !== answer.total
          ? answer.sample.join(", ") + (answer.count > answer.sample.length ? " …" : "") : "";
        scope.classList.remove("is-counting");
      })
      .catch(function () { scope.classList.remove("is-counting"); });
  }

  function watchCounts() {
    document.querySelectorAll("[data-count-url]").forEach(function (scope) {
      var timer = null;
      var later = function () { clearTimeout(timer); timer = setTimeout(function () { countGroup(scope); }, 250); };
      scope.addEventListener("change", later);
      scope.addEventListener("input", later);
      countGroup(scope);
    });
  }

  // ---------------------------------------------------------------- preview
  function watchPreview() {
    var button = document.getElementById("preview-button");
    if (!button) { return; }
    var target = document.getElementById("preview-result");
    button.addEventListener("click", function () {
      var form = button.closest("form");
      button.disabled = true;
      target.classList.add("is-loading");
      fetch(button.getAttribute("data-url"), {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "text/html", "X-Requested-With": "fetch" }
      })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          target.innerHTML = html;
          var card = target.closest(".card") || target;
          var box = card.getBoundingClientRect();
          if (box.bottom > window.innerHeight - 80) { card.scrollIntoView({ block: "end" }); }
        })
        .catch(function () { target.textContent = button.getAttribute("data-error") || "—"; })
        .then(function () { button.disabled = false; target.classList.remove("is-loading"); });
    });
  }

  // ---------------------------------------------------------------- Advanced: jump to a line
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-goto-line]");
    if (!link) { return; }
    var area = document.getElementById(link.getAttribute("data-target"));
    if (!area) { return; }
    event.preventDefault();
    var line = parseInt(link.getAttribute("data-goto-line"), 10);
    var lines = area.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    area.focus();
    area.setSelectionRange(start, end);
    var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 5) * lineHeight);
  });

  // A refused form: bring the first problem into view (below the sticky header).
  function showFirstProblem() {
    var first = document.querySelector(".field-error, #top-errors, #conflict");
    if (!first) { return; }
    var field = first.closest("[data-field], .field, .card") || first;
    field.scrollIntoView({ block: "center" });
    var input = field.querySelector("input:not([type=hidden]), select, textarea");
    if (input && first.classList.contains("field-error")) { input.focus({ preventScroll: true }); }
  }

  function ready() {
    startBuilder();
    document.querySelectorAll("form").forEach(refreshShown);
    watchCounts();
    watchPreview();
    document.querySelectorAll("[data-example-for]").forEach(function (note) {
      var field = document.getElementById(note.getAttribute("data-example-for"));
      if (field && field.value) { showTitleExample(field); }
    });
    showFirstProblem();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); }
  else { ready(); }
})();
