// Import BPMN files with bpmn-moddle (the model layer of bpmn.io and Camunda Modeler) and report
// what it saw, as JSON on stdout: warnings, the flow elements, their extension attributes and the
// colours of their diagram shapes.
//
//   node moddle-check.mjs FILE.bpmn [FILE.bpmn ...]
//
// Exit code 0 when every file was read (warnings are reported, not fatal), 1 on a parse error.

import { readFile } from 'node:fs/promises';
import { BpmnModdle } from 'bpmn-moddle';

async function check(file) {
  const xml = await readFile(file, 'utf8');
  const moddle = new BpmnModdle();
  const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
  const processes = rootElement.rootElements.filter((e) => e.$type === 'bpmn:Process');
  const elements = [];
  for (const process of processes) {
    for (const element of process.flowElements || []) {
      elements.push({
        id: element.id,
        type: element.$type,
        name: element.name || null,
        source: element.sourceRef ? element.sourceRef.id : null,
        target: element.targetRef ? element.targetRef.id : null,
        attrs: element.$attrs || {},
        documentation: (element.documentation || []).map((d) => d.text),
      });
    }
    for (const artifact of process.artifacts || []) {
      elements.push({
        id: artifact.id,
        type: artifact.$type,
        text: artifact.text || null,
        source: artifact.sourceRef ? artifact.sourceRef.id : null,
        target: artifact.targetRef ? artifact.targetRef.id : null,
      });
    }
  }
  const shapes = {};
  for (const diagram of rootElement.diagrams || []) {
    for (const di of diagram.plane.planeElement || []) {
      shapes[di.bpmnElement.id] = {
        type: di.$type,
        bounds: di.bounds ? { x: di.bounds.x, y: di.bounds.y, width: di.bounds.width, height: di.bounds.height } : null,
        waypoints: di.waypoint ? di.waypoint.map((p) => [p.x, p.y]) : null,
        // Read through the schema-aware accessors that bpmn-js' renderer uses.
        fill: di.get('bioc:fill') || null,
        stroke: di.get('bioc:stroke') || null,
        backgroundColor: di.get('color:background-color') || null,
        borderColor: di.get('color:border-color') || null,
      };
    }
  }
  return {
    file,
    warnings: warnings.map((w) => w.message),
    processes: processes.map((p) => ({ id: p.id, name: p.name, attrs: p.$attrs || {}, documentation: (p.documentation || []).map((d) => d.text) })),
    elements,
    shapes,
  };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node moddle-check.mjs FILE.bpmn [FILE.bpmn ...]');
  process.exit(2);
}
const results = [];
let failed = false;
for (const file of files) {
  try {
    results.push(await check(file));
  } catch (error) {
    failed = true;
    results.push({ file, error: String(error && error.message ? error.message : error) });
  }
}
process.stdout.write(JSON.stringify(results, null, 1) + '\n');
// exitCode, not exit(): exit() would cut off stdout that a pipe has not taken yet.
process.exitCode = failed ? 1 : 0;
