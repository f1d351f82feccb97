// leadflow console: confirmations, the automation form's action switch,
// and the segment builder. No dependencies; the pages work without it
// (the segment's JSON can be written by hand).
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (kids || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }

  // Forms with data-confirm ask first.
  document.addEventListener('submit', function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  // Create Automation: show the fields of the chosen action.
  function initAutomation(form) {
    function sync() {
      var chosen = form.querySelector('input[name=action]:checked');
      form.querySelectorAll('[data-action]').forEach(function (fs) {
        fs.hidden = !!chosen && fs.getAttribute('data-action') !== chosen.value;
      });
    }
    form.addEventListener('change', sync);
    sync();
  }

  // ---- segment builder ----
  // The model: a group {mode: all|any|not, kids: [...]} or a condition
  // {field, op, value}. It is written to the JSON textarea on every
  // change and read back when the textarea is edited by hand.
  function initBuilder(root) {
    var fields = JSON.parse(root.getAttribute('data-fields'));
    var ops = JSON.parse(root.getAttribute('data-operators'));
    var errors = JSON.parse(root.getAttribute('data-errors') || '{}') || {};
    var ta = document.getElementById(root.getAttribute('data-target'));
    var opBy = {}, fieldBy = {};
    ops.forEach(function (o) { opBy[o.name] = o; });
    fields.forEach(function (f) { fieldBy[f.name] = f; });
    var model;
    var seq = 0;

    function fromJSON(j) {
      if (j && Array.isArray(j.all)) { return { mode: 'all', kids: j.all.map(fromJSON) }; }
      if (j && Array.isArray(j.any)) { return { mode: 'any', kids: j.any.map(fromJSON) }; }
      if (j && j.not && typeof j.not === 'object') { return { mode: 'not', kids: [fromJSON(j.not)] }; }
      if (j && typeof j === 'object' && 'field' in j) { return { field: j.field, op: j.op, value: j.value }; }
      return { mode: 'all', kids: [] };
    }
    function isGroup(n) { return n && n.mode !== undefined; }
    function toJSON(n) {
      if (!isGroup(n)) {
        var c = { field: n.field, op: n.op };
        if (n.value !== undefined && opBy[n.op] && opBy[n.op].takes !== 'none') { c.value = n.value; }
        return c;
      }
      var kids = n.kids.map(toJSON);
      if (n.mode === 'not') { return { not: kids.length === 1 ? kids[0] : { all: kids } }; }
      var g = {}; g[n.mode] = kids; return g;
    }
    // childPath is where a group's i-th child is in the JSON (the API's
    // 422 names these paths).
    function childPath(n, path, i) {
      if (n.mode === 'not') { return n.kids.length === 1 ? path + '.not' : path + '.not.all[' + i + ']'; }
      return path + '.' + n.mode + '[' + i + ']';
    }
    function write() {
      ta.value = JSON.stringify(toJSON(model), null, 2);
    }
    function changed() {
      errors = {};
      var fe = document.getElementById('form-error');
      if (fe) { fe.hidden = true; } // the API's answer was about the filter as it was
      write(); render();
    }

    function load() {
      try { model = fromJSON(JSON.parse(ta.value || '{"all":[]}')); }
      catch (e) { model = null; }
      if (model && !isGroup(model)) { model = { mode: 'all', kids: [model] }; }
    }

    function numberish(t) { return t === 'number'; }
    function parseOne(f, op, s) {
      s = s.trim();
      var wantsNum = f && (numberish(f.type) || (f.type === 'year' && ['gt', 'gte', 'lt', 'lte', 'between'].indexOf(op) >= 0));
      if (wantsNum && s !== '' && !isNaN(Number(s))) { return Number(s); }
      return s;
    }
    function show(v) { return v === undefined || v === null ? '' : String(v); }

    function valueInputs(n, path, id) {
      var f = fieldBy[n.field], o = opBy[n.op];
      var box = el('div', { 'class': 'val' });
      if (!o || o.takes === 'none') { box.appendChild(el('span', { 'class': 'muted', text: 'no value' })); return box; }
      var type = f && (numberish(f.type) || (f.type === 'year' && ['gt', 'gte', 'lt', 'lte', 'between'].indexOf(n.op) >= 0)) ? 'number' : 'text';
      var ph = f && f.type === 'time' ? '2024-05-15 or 2024-05-15T10:55:50Z' : '';
      if (o.takes === 'list') {
        var t = el('textarea', { rows: '2', id: id, 'aria-label': 'Values, one per line', placeholder: 'one value per line', 'data-path': path + '.value' });
        t.value = Array.isArray(n.value) ? n.value.map(show).join('\n') : show(n.value);
        t.addEventListener('change', function () {
          n.value = t.value.split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s !== ''; })
            .map(function (s) { return parseOne(f, n.op, s); });
          changed();
        });
        box.appendChild(t);
      } else if (o.takes === 'pair') {
        var pair = Array.isArray(n.value) ? n.value : ['', ''];
        ['From', 'To'].forEach(function (label, i) {
          var inp = el('input', { type: type, id: id + (i ? '-hi' : ''), 'aria-label': label, placeholder: label.toLowerCase() + (ph ? ' (' + ph + ')' : ''), 'data-path': path + '.value' });
          inp.value = show(pair[i]);
          inp.addEventListener('change', function () {
            var v = Array.isArray(n.value) ? n.value.slice() : ['', ''];
            v[i] = parseOne(f, n.op, inp.value); n.value = v; changed();
          });
          box.appendChild(inp);
        });
      } else {
        var one = el('input', { type: type === 'number' ? 'text' : 'text', inputmode: type === 'number' ? 'decimal' : 'text', id: id, 'aria-label': 'Value', placeholder: ph || 'value', 'data-path': path + '.value' });
        one.value = Array.isArray(n.value) ? '' : show(n.value);
        one.addEventListener('change', function () { n.value = parseOne(f, n.op, one.value); changed(); });
        box.appendChild(one);
      }
      return box;
    }

    function condView(n, path, parent, idx) {
      var id = 'c' + (seq++);
      var row = el('div', { 'class': 'cond', 'data-path': path });
      var fsel = el('select', { id: id + '-f', 'aria-label': 'Field', 'data-path': path + '.field' });
      var groups = {};
      fields.forEach(function (f) {
        var g = f.name.split('.')[0];
        if (!groups[g]) { groups[g] = el('optgroup', { label: g }); fsel.appendChild(groups[g]); }
        var opt = el('option', { value: f.name, text: f.name, title: f.doc });
        if (f.name === n.field) { opt.selected = true; }
        groups[g].appendChild(opt);
      });
      if (!fieldBy[n.field]) { var unk = el('option', { value: n.field || '', text: (n.field || '(choose a field)') }); unk.selected = true; fsel.insertBefore(unk, fsel.firstChild); }
      fsel.addEventListener('change', function () {
        n.field = fsel.value;
        var f = fieldBy[n.field];
        if (f && f.operators.indexOf(n.op) < 0) { n.op = f.operators[0]; n.value = undefined; }
        changed();
      });
      var osel = el('select', { id: id + '-o', 'aria-label': 'Operator', 'data-path': path + '.op' });
      var f = fieldBy[n.field];
      (f ? f.operators : ops.map(function (o) { return o.name; })).forEach(function (name) {
        var opt = el('option', { value: name, text: name.replace(/_/g, ' '), title: opBy[name] ? opBy[name].doc : '' });
        if (name === n.op) { opt.selected = true; }
        osel.appendChild(opt);
      });
      if (f && f.operators.indexOf(n.op) < 0) { var bad = el('option', { value: n.op || '', text: n.op || '(choose)' }); bad.selected = true; osel.insertBefore(bad, osel.firstChild); }
      osel.addEventListener('change', function () {
        var before = opBy[n.op] ? opBy[n.op].takes : '';
        n.op = osel.value;
        if (!opBy[n.op] || opBy[n.op].takes !== before) { n.value = undefined; }
        changed();
      });
      var rm = el('button', { type: 'button', 'class': 'danger', text: 'Remove', 'aria-label': 'Remove condition' });
      rm.addEventListener('click', function () { parent.kids.splice(idx, 1); changed(); });
      row.appendChild(fsel); row.appendChild(osel); row.appendChild(valueInputs(n, path, id + '-v')); row.appendChild(rm);
      var hint = [];
      if (f && f.doc) { hint.push(f.doc); }
      if (opBy[n.op] && opBy[n.op].takes !== 'none') { hint.push('value: ' + opBy[n.op].value); }
      if (hint.length) { row.appendChild(el('div', { 'class': 'hint', text: hint.join(' · ') })); }
      return row;
    }

    function groupView(n, path, parent, idx) {
      var box = el('div', { 'class': 'group', role: 'group', 'data-path': path });
      var head = el('div', { 'class': 'ghead' });
      var id = 'g' + (seq++);
      var lab = el('label', { 'for': id, text: parent ? 'Group: leads matching' : 'Leads matching' });
      var sel = el('select', { id: id });
      [['all', 'all of'], ['any', 'any of'], ['not', 'none of']].forEach(function (m) {
        var o = el('option', { value: m[0], text: m[1] });
        if (m[0] === n.mode) { o.selected = true; }
        sel.appendChild(o);
      });
      sel.addEventListener('change', function () { n.mode = sel.value; changed(); });
      head.appendChild(lab); head.appendChild(sel); head.appendChild(el('span', { text: 'these conditions' }));
      if (parent) {
        var rm = el('button', { type: 'button', 'class': 'danger', text: 'Remove group' });
        rm.addEventListener('click', function () { parent.kids.splice(idx, 1); changed(); });
        head.appendChild(rm);
      }
      box.appendChild(head);
      n.kids.forEach(function (k, i) {
        var p = childPath(n, path, i);
        box.appendChild(isGroup(k) ? groupView(k, p, n, i) : condView(k, p, n, i));
      });
      var addC = el('button', { type: 'button', text: 'Add condition' });
      addC.addEventListener('click', function () {
        var f = fields[0];
        n.kids.push({ field: f.name, op: f.operators[0] }); changed();
      });
      var addG = el('button', { type: 'button', text: 'Add group' });
      addG.addEventListener('click', function () { n.kids.push({ mode: 'any', kids: [] }); changed(); });
      box.appendChild(el('div', { 'class': 'buttons' }, [addC, addG]));
      return box;
    }

    // showErrors puts each 422 message next to the deepest element whose
    // path it names, and marks that input invalid.
    function showErrors() {
      Object.keys(errors).forEach(function (key) {
        if (key.indexOf('filter') !== 0) { return; }
        var exact = root.querySelector('[data-path="' + CSS.escape(key) + '"]');
        var node = null, best = -1;
        root.querySelectorAll('.cond[data-path], .group[data-path]').forEach(function (e) {
          var p = e.getAttribute('data-path');
          if ((key === p || key.indexOf(p + '.') === 0 || key.indexOf(p + '[') === 0) && p.length > best) { node = e; best = p.length; }
        });
        if (exact && exact.tagName !== 'DIV') { exact.setAttribute('aria-invalid', 'true'); }
        var target = node || root;
        var msg = el('span', { 'class': 'err', role: 'alert', 'data-error-path': key, text: errors[key] });
        if (target.classList.contains('group')) { target.insertBefore(msg, target.children[1] || null); } else { target.appendChild(msg); }
      });
    }

    function render() {
      root.textContent = '';
      if (!model) {
        root.appendChild(el('p', { 'class': 'error-msg', text: 'The JSON below is not valid JSON; the builder shows it again once it is.' }));
        return;
      }
      seq = 0;
      root.appendChild(groupView(model, 'filter', null, 0));
      showErrors();
    }

    ta.addEventListener('change', function () { errors = {}; load(); render(); });
    load();
    if (model) { write(); }
    render();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var af = document.getElementById('automation-form');
    if (af) { initAutomation(af); }
    var b = document.getElementById('builder');
    if (b) { initBuilder(b); }
  });
})();
