// Pushes every file of a folder with Coveo's official JavaScript client (@coveo/push-api-client),
// the way its documentation and samples show: read each file, compress it, base64 it, build the
// document, and upload the documents in batches through file containers.
//
// The client has no setting for its host, so the global fetch is wrapped: every request to a
// Coveo host goes to the emulator's origin instead. The client has no change detection, so every
// run pushes every file again.
//
// usage: COVEO_API_KEY=... node push.mjs --folder DIR --origin URL --org ORG --source SOURCE
import { readFile, readdir } from "node:fs/promises";
import { extname, join, basename } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import { PushSource, DocumentBuilder } from "@coveo/push-api-client";

// The client's own cap for one batch (FileConsumer.maxContentLength), and its default number of
// batches uploaded at once (maxConcurrent).
const BATCH_BYTES = 5 * 1024 * 1024;
const MAX_CONCURRENT = 10;

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  for (const k of ["folder", "origin", "org", "source"]) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

const opts = args();
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input.url ?? String(input);
  const rewritten = url.replace(/^https:\/\/(api|platform)[a-z-]*\.cloud\.coveo\.com/, opts.origin);
  return realFetch(rewritten, init);
};

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

const source = new PushSource(process.env.COVEO_API_KEY, opts.org);
await source.setSourceStatus(opts.source, "REFRESH");

let batch = [];
let batchBytes = 0;
const inFlight = new Set();
let files = 0;

async function send(docs) {
  const res = await source.batchUpdateDocuments(
    opts.source,
    { addOrUpdate: docs, delete: [] },
    { createFields: false },
  );
  if (!res.ok) throw new Error(`batch refused: HTTP ${res.status}`);
}

async function flush() {
  if (batch.length === 0) return;
  const docs = batch;
  batch = [];
  batchBytes = 0;
  const p = send(docs).finally(() => inFlight.delete(p));
  inFlight.add(p);
  if (inFlight.size >= MAX_CONCURRENT) await Promise.race(inFlight);
}

for await (const path of walk(opts.folder)) {
  const bytes = await readFile(path);
  const doc = new DocumentBuilder(pathToFileURL(path).href, basename(path))
    .withCompressedBinaryData(deflateSync(bytes).toString("base64"), "ZLIB")
    .withFileExtension(extname(path) || ".bin");
  const size = JSON.stringify(doc.marshal()).length;
  if (batchBytes + size >= BATCH_BYTES) await flush();
  batch.push(doc);
  batchBytes += size;
  files += 1;
}
await flush();
await Promise.all(inFlight);
await source.setSourceStatus(opts.source, "IDLE");
console.log(JSON.stringify({ files }));
