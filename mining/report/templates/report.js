// Draw the embedded BPMN files with the inlined bpmn-js viewer (when the report carries it).
(function () {
  'use strict';
  var canvases = document.querySelectorAll('.bpmn-canvas[data-xml]');
  if (!canvases.length) { return; }
  if (typeof window.BpmnJS !== 'function') {
    canvases.forEach(function (el) {
      var status = el.nextElementSibling;
      if (status) { status.textContent = 'The bpmn-js viewer is not in this file; open the .bpmn file in a BPMN modeller.'; }
    });
    return;
  }
  window.motBpmn = {};
  canvases.forEach(function (el) {
    var side = el.id.replace('bpmn-canvas-', '');
    var status = document.getElementById('bpmn-status-' + side);
    var xml = JSON.parse(document.getElementById(el.getAttribute('data-xml')).textContent);
    var viewer = new window.BpmnJS({ container: el });
    window.motBpmn[side] = { viewer: viewer, done: false, error: null, warnings: 0 };
    viewer.importXML(xml).then(function (result) {
      var canvas = viewer.get('canvas');
      // Fit the box to the diagram's shape (wide models are flat), then the diagram to the box.
      var inner = canvas.viewbox().inner;
      if (inner.width > 0) {
        var height = Math.round(el.clientWidth * (inner.height + 80) / (inner.width + 80));
        el.style.height = Math.max(220, Math.min(640, height)) + 'px';
        canvas.resized();
      }
      canvas.zoom('fit-viewport', 'auto');
      var n = (result.warnings || []).length;
      window.motBpmn[side].done = true;
      window.motBpmn[side].warnings = n;
      window.motBpmn[side].shapes = viewer.get('elementRegistry').getAll().length;
      el.setAttribute('data-rendered', 'true');
      if (status) {
        status.textContent = 'Drag to pan, Ctrl + mouse wheel to zoom.' + (n ? ' The viewer reported ' + n + ' import warning(s).' : '');
      }
    }).catch(function (err) {
      window.motBpmn[side].error = String(err && err.message || err);
      el.setAttribute('data-rendered', 'error');
      if (status) {
        status.textContent = 'The diagram could not be drawn: ' + window.motBpmn[side].error;
        status.className = 'bpmn-status error';
      }
      console.error('bpmn-js could not import the ' + side + ' diagram: ' + window.motBpmn[side].error);
    });
  });
}());

// Zoom and pan the process map through its viewBox: it first fits the width; buttons, Ctrl + wheel
// and dragging move closer. No library: a viewBox is all an SVG needs to zoom without blurring.
(function () {
  'use strict';
  document.querySelectorAll('.picture.map svg.process-map').forEach(function (svg) {
    var box = svg.getAttribute('viewBox').split(/\s+/).map(Number);
    var full = box.slice();
    var set = function () { svg.setAttribute('viewBox', box.map(function (v) { return v.toFixed(2); }).join(' ')); };
    var zoom = function (k, cx, cy) {
      var w = Math.min(full[2], Math.max(full[2] / 40, box[2] / k));
      var f = w / box[2];
      cx = cx === undefined ? box[0] + box[2] / 2 : cx;
      cy = cy === undefined ? box[1] + box[3] / 2 : cy;
      box = [cx - (cx - box[0]) * f, cy - (cy - box[1]) * f, w, box[3] * f];
      set();
    };
    var point = function (ev) {
      var r = svg.getBoundingClientRect();
      return [box[0] + (ev.clientX - r.left) / r.width * box[2], box[1] + (ev.clientY - r.top) / r.height * box[3]];
    };
    var tools = document.createElement('div');
    tools.className = 'map-tools';
    [['+', 'Zoom in', function () { zoom(1.5); }],
     ['\u2212', 'Zoom out', function () { zoom(1 / 1.5); }],
     ['1:1', 'Natural size: text as written', function () { zoom(box[2] / svg.getBoundingClientRect().width); }],
     ['Fit', 'Fit the whole map', function () { box = full.slice(); set(); }]].forEach(function (b) {
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = b[0];
      button.title = b[1];
      button.addEventListener('click', b[2]);
      tools.appendChild(button);
    });
    svg.parentNode.insertBefore(tools, svg);
    // A wide map may use the window's width beyond the text column (never more than its natural
    // size): at 1920 px a 30-activity map then shows its text as written, without zooming.
    var frame = svg.parentNode;
    svg.style.maxWidth = full[2] + 'px';
    svg.style.margin = '0 auto';
    var widen = function () {
      frame.style.width = '';
      frame.style.marginLeft = '';
      var column = frame.getBoundingClientRect().width;
      var room = document.documentElement.clientWidth - 48;
      var width = Math.max(column, Math.min(room, full[2] + 2));
      frame.style.width = width + 'px';
      frame.style.marginLeft = ((column - width) / 2) + 'px';
    };
    widen();
    window.addEventListener('resize', widen);
    var hint = document.createElement('p');
    hint.className = 'map-hint';
    hint.textContent = 'Zoom with the buttons or Ctrl + mouse wheel, drag to pan.';
    svg.parentNode.parentNode.insertBefore(hint, svg.parentNode.nextSibling);
    svg.addEventListener('wheel', function (ev) {
      if (!ev.ctrlKey && !ev.metaKey) { return; }  // a plain wheel scrolls the report
      ev.preventDefault();
      var p = point(ev);
      zoom(ev.deltaY < 0 ? 1.25 : 0.8, p[0], p[1]);
    }, { passive: false });
    var drag = null;
    svg.addEventListener('pointerdown', function (ev) {
      drag = { x: ev.clientX, y: ev.clientY, box: box.slice() };
      svg.setPointerCapture(ev.pointerId);
      svg.classList.add('dragging');
    });
    svg.addEventListener('pointermove', function (ev) {
      if (!drag) { return; }
      var r = svg.getBoundingClientRect();
      box[0] = drag.box[0] - (ev.clientX - drag.x) / r.width * box[2];
      box[1] = drag.box[1] - (ev.clientY - drag.y) / r.height * box[3];
      set();
    });
    var stop = function () { drag = null; svg.classList.remove('dragging'); };
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);
  });
}());

// Long tables show their first rows; the button under each shows them all or fewer again.
(function () {
  'use strict';
  document.querySelectorAll('button.show-rows').forEach(function (button) {
    var table = document.querySelector('table[data-table="' + button.getAttribute('data-for') + '"]');
    if (!table) { return; }
    button.addEventListener('click', function () {
      var collapsed = table.classList.toggle('collapsed');
      button.textContent = collapsed ? 'Show all ' + button.getAttribute('data-rows') + ' rows' : 'Show fewer rows';
    });
  });
}());
