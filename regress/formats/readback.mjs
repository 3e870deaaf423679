// readback.mjs: read a profile mnemic exported with the format's own
// well-kept reader, check it, and print what it holds as JSON.
//
//   node readback.mjs pprof FILE        (gzipped profile.proto)
//   node readback.mjs speedscope FILE   (speedscope JSON)
//
// pprof files are decoded by pprof-format (Datadog's reader and writer of
// profile.proto); speedscope files are checked against the JSON schema the
// speedscope package publishes (dist/release/file-format-schema.json), with
// ajv, as speedscope's importer cannot run outside a browser; the checks the
// schema cannot express are those of speedscope's importer and of
// profile.proto's comments.  Prints {"unit": ..., "type": ..., "stacks":
// [[[[function, file], ...outermost first], value], ...]}; exits 1 with a
// message when the file breaks a rule.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import { Profile } from 'pprof-format';

const require = createRequire(import.meta.url);

function fail(message) {
  console.error(`readback: ${message}`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) fail(message);
}

function readPprof(bytes) {
  check(bytes[0] === 0x1f && bytes[1] === 0x8b, 'a pprof file is gzipped');
  const p = Profile.decode(zlib.gunzipSync(bytes));
  const strings = p.stringTable.strings;
  const str = (i) => {
    const n = Number(i);
    check(Number.isInteger(n) && n >= 0 && n < strings.length, `string ${i} out of range`);
    return strings[n];
  };
  check(strings[0] === '', 'string_table[0] is ""');
  check(p.sampleType.length === 1, 'one sample type');

  const functions = new Map();
  for (const f of p.function) {
    const id = Number(f.id);
    check(id !== 0 && !functions.has(id), `function id ${id} is nonzero and unique`);
    functions.set(id, [str(f.name), str(f.filename)]);
  }
  const locations = new Map();
  for (const l of p.location) {
    const id = Number(l.id);
    check(id !== 0 && !locations.has(id), `location id ${id} is nonzero and unique`);
    check(l.line.length > 0, `location ${id} has lines`);
    // the last line calls the ones before it (inlining)
    const frames = l.line.map((line) => {
      const f = functions.get(Number(line.functionId));
      check(f !== undefined, `location ${id} names a defined function`);
      return f;
    }).reverse();
    locations.set(id, frames);
  }
  const stacks = p.sample.map((s) => {
    check(s.value.length === 1, 'one value per sample type');
    const frames = [];
    // location_id[0] is the leaf
    for (const id of [...s.locationId].reverse()) {
      const l = locations.get(Number(id));
      check(l !== undefined, `sample names a defined location (${id})`);
      frames.push(...l);
    }
    return [frames, Number(s.value[0])];
  });
  check(Number(p.timeNanos) > 0, 'time_nanos is set');
  return {
    type: str(p.sampleType[0].type),
    unit: str(p.sampleType[0].unit),
    stacks,
  };
}

function readSpeedscope(bytes) {
  const schema = JSON.parse(fs.readFileSync(
    require.resolve('speedscope/dist/release/file-format-schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const file = JSON.parse(bytes.toString('utf8'));
  if (!validate(file)) fail(`schema: ${ajv.errorsText(validate.errors)}`);
  check(file.$schema === 'https://www.speedscope.app/file-format-schema.json', '$schema');

  const frames = file.shared.frames;
  check(file.profiles.length === 1, 'one profile');
  const p = file.profiles[0];
  check(p.type === 'sampled', 'a sampled profile');
  check(p.endValue >= p.startValue, 'endValue >= startValue');
  // what speedscope's importer throws on
  check(p.samples.length === p.weights.length, 'as many weights as samples');
  let total = 0;
  const stacks = p.samples.map((stack, i) => {
    check(p.weights[i] >= 0, 'weights are not negative');
    total += p.weights[i];
    return [stack.map((index) => {
      check(Number.isInteger(index) && index >= 0 && index < frames.length,
        `frame ${index} is an index into shared.frames`);
      return [frames[index].name, frames[index].file ?? ''];
    }), p.weights[i]];
  });
  check(p.endValue - p.startValue === total, 'the profile spans its weights');
  return { type: p.type, unit: p.unit, stacks };
}

const [format, path] = process.argv.slice(2);
const bytes = fs.readFileSync(path);
const readers = { pprof: readPprof, speedscope: readSpeedscope };
if (!readers[format]) fail(`unknown format ${format}`);
process.stdout.write(JSON.stringify(readers[format](bytes)) + '\n');
