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
