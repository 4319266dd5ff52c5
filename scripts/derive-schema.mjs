// A derived JSON Schema: a base schema of schemas/ with an overlay's changes applied. Used for the
// version-less Compose Specification (schemas/overlays/compose-spec-current.json), which accepts
// everything docker-compose 1.29.2's schema accepts (schemas/compose-spec.json) plus what Compose v2
// added: written as additions to the base, so the two cannot drift apart on what both accept.
//
// An overlay: { "base": "<file in schemas/>", "$id", "title", "description",
//   "add": { "<dotted path>": schema, ... },      a property or definition the base does not have
//   "replace": { "<dotted path>": schema, ... } } one the base has, replaced (a widened type)
// Paths are dotted keys from the schema's root ("definitions.healthcheck.properties.start_interval").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function deriveSchema(schemasDir, overlayFile) {
  const overlay = JSON.parse(readFileSync(overlayFile, 'utf8'));
  const schema = JSON.parse(readFileSync(join(schemasDir, overlay.base), 'utf8'));
  for (const key of ['$id', 'title', 'description']) if (overlay[key] !== undefined) schema[key] = overlay[key];
  for (const [mode, changes] of [['add', overlay.add ?? {}], ['replace', overlay.replace ?? {}]]) {
    for (const [path, value] of Object.entries(changes)) {
      const keys = path.split('.');
      const last = keys.pop();
      let node = schema;
      for (const k of keys) {
        if (typeof node[k] !== 'object' || node[k] === null) throw new Error(`${overlayFile}: ${path}: ${k} is not in ${overlay.base}`);
        node = node[k];
      }
      const present = Object.hasOwn(node, last);
      if (mode === 'add' && present) throw new Error(`${overlayFile}: add ${path}: already in ${overlay.base} (use replace)`);
      if (mode === 'replace' && !present) throw new Error(`${overlayFile}: replace ${path}: not in ${overlay.base} (use add)`);
      node[last] = value;
    }
  }
  return schema;
}
