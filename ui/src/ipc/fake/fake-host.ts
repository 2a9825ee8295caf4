// The fake host: the whole app in memory, realistic enough to use and to test its layout and
// flows. Folders scan and sync over time with progress, plans are computed from a file list,
// test uploads go through request → 202 → indexed or rejected, and the Sandbox browser holds a
// large item list generated on demand.
//
// It covers layout and flows, not rules: it decides nothing about who can see what. Every
// answer about access (View as, who can see, what a user can see, who gains or loses access,
// search as) is looked up in what the real host answered for the same identity list, model and
// user (`answers.ts`, `access-answers.json`, written by src-tauri/src/host/fake_answers.rs);
// anything else is answered "not in the fixtures".
//
// Options come from the address (`fakeOptionsFromUrl`): `keyring=none` (no keyring),
// `first=0` (not a first launch), `activity=N` (seed N activity lines), `sandbox=N` (N Sandbox
// items), `identities=N` (add a folder whose model names N identities), `speed=N` (sync speed).
// `window.__pushdeckFake` exposes hooks for tests and benchmarks.

import type { Host, Unlisten } from "../host";
import { HostFailure } from "../host";
import type {
  AccessExplanation,
  ActivityEntry,
  ActivityKind,
  AppState,
  ConnectionRequest,
  ConnectionTest,
  DroppedFile,
  ErrorCode,
  FolderState,
  FolderSummary,
  HostEvent,
  ItemPreview,
  ItemProblem,
  PermissionModelView,
  RuleEntry,
  SandboxItemDetail,
  SandboxItemSummary,
  SecurityIdentity,
  SyncPlan,
  TestItem,
  TestUpload,
  TreeNode,
  UploadStage,
  UserAccess,
} from "../bindings";
import { AnswerBook, NotInFixtures, canonical, type AccessFixture } from "./answers";
import {
  group,
  largeModel,
  makeFiles,
  modelOfRule,
  seedIdentities,
  seeded,
  type FakeFile,
  wirePermissions,
  leadsThenTeamModel,
  workedExampleModel,
} from "./data";
import { globToRegExp } from "./glob";

export interface FakeOptions {
  keyringAvailable: boolean;
  firstLaunch: boolean;
  activityLines: number;
  sandboxItems: number;
  largeModelIdentities: number;
  /** Items a syncing folder pushes per second. */
  itemsPerSecond: number;
}

export function fakeOptionsFromUrl(location: Location): FakeOptions {
  const p = new URLSearchParams(location.search);
  const num = (name: string, fallback: number) => {
    const value = Number(p.get(name));
    return p.has(name) && Number.isFinite(value) ? value : fallback;
  };
  return {
    keyringAvailable: p.get("keyring") !== "none",
    firstLaunch: p.get("first") !== "0",
    activityLines: num("activity", 400),
    sandboxItems: num("sandbox", 100_000),
    largeModelIdentities: num("identities", 0),
    itemsPerSecond: num("speed", 40),
  };
}

const FIRST_PLAN = "Waiting for you to confirm the plan of the first sync.";

/** How often simulated work advances. Shorter is smoother but busier. */
const TICK_MS = 100;

interface FolderRecord {
  summary: FolderSummary;
  files: FakeFile[];
  rules: RuleEntry[];
  problems: ItemProblem[];
  /** Paths still to push in the current sync. */
  queue: FakeFile[];
  rate: number;
}

const fail = (code: ErrorCode, message: string): never => {
  throw new HostFailure({ code, message });
};

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function documentIdOf(root: string, path: string): string {
  return "file://" + encodeURI(`${root}/${path}`);
}

function fileType(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1).toLowerCase();
}

function titleOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const stem = base.includes(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  return stem.replace(/[-_]+/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

const items = (n: number) => `${n.toLocaleString("en-US")} ${n === 1 ? "item" : "items"}`;

const COMPRESSIBLE = new Set(["txt", "md", "html", "csv", "json", "xml"]);

export function createFakeHost(options: FakeOptions): Host {
  const now = Date.now();
  const listeners = new Set<(event: HostEvent) => void>();
  const emit = (event: HostEvent) => {
    for (const listener of listeners) listener(event);
  };

  let appState: AppState = {
    mode: "sandbox",
    connection: null,
    firstLaunch: options.firstLaunch,
    keyringAvailable: options.keyringAvailable,
    version: "0.1.0 (fake host)",
    autostartOffered: false,
    pausedUntilMs: null,
  };
  let autostart = false;
  let identities: SecurityIdentity[] = seedIdentities();
  const folders = new Map<string, FolderRecord>();
  let nextFolder = 1;

  function addRecord(
    name: string,
    path: string,
    state: FolderState,
    files: FakeFile[],
    rules: RuleEntry[],
    extra: Partial<FolderSummary> = {},
  ): FolderRecord {
    const id = `f${nextFolder++}`;
    const record: FolderRecord = {
      summary: {
        id,
        name,
        path,
        sourceId: "documents",
        state,
        lastSyncAtMs: now - 12 * 60_000,
        itemCount: files.length,
        include: [],
        exclude: ["*.tmp", "~$*"],
        awaitingFirstSync: false,
        ownsSource: false,
        ...extra,
      },
      files,
      rules,
      problems: [],
      queue: [],
      rate: options.itemsPerSecond,
    };
    folders.set(id, record);
    return record;
  }

  addRecord(
    "Policies",
    "/home/you/Documents/Policies",
    { kind: "upToDate", problems: 0 },
    makeFiles(1, ["", "HR", "HR/Benefits", "Finance", "Board", "Public", "Public/Forms"], 312, now),
    [
      { path: "", rule: { kind: "everyone" }, mode: "replace" },
      { path: "HR", rule: { kind: "only", identities: [group("HR")] }, mode: "replace" },
      { path: "Finance", rule: { kind: "everyoneExcept", identities: [group("Contractors")] }, mode: "replace" },
      { path: "Board", rule: { kind: "complete", model: workedExampleModel() }, mode: "replace" },
      { path: "Public/Forms", rule: { kind: "complete", model: leadsThenTeamModel() }, mode: "replace" },
    ],
  );
  /** The sample folder's card (the real host copies a shipped sample; the fake has the flow only). */
  const addSampleRecord = () =>
    addRecord(
      "Sample folder",
      "/home/you/.local/share/pushdeck/sample",
      { kind: "paused", reason: FIRST_PLAN },
      makeFiles(2, ["", "Guides", "Guides/Advanced"], 24, now),
      [{ path: "", rule: { kind: "everyone" }, mode: "replace" }],
      { awaitingFirstSync: true, lastSyncAtMs: null, itemCount: 0, sourceId: "documents" },
    );
  addSampleRecord();
  const wiki = addRecord(
    "Engineering wiki",
    "/srv/wiki/export",
    { kind: "needsAttention", problems: 3, reasons: ["3 files failed in the last run. Open Failed items to see what to do."] },
    makeFiles(3, ["", "Design", "Ops", "Legacy", "Runbooks"], 1204, now),
    [{ path: "", rule: { kind: "only", identities: [group("SampleTeam1"), group("SampleTeam2")] }, mode: "replace" }],
    { lastSyncAtMs: now - 3 * 3_600_000 },
  );
  wiki.problems = [
    {
      path: "Design/huge-diagram.psd",
      code: "pushFailed",
      what: "The Push API refused the item: the file is 312 MB, and Coveo accepts at most 256 MB of compressed data per item.",
      whatToDo: "Exclude it with a pattern (for example *.psd) or keep a smaller export next to it.",
      atMs: now - 3 * 3_600_000,
    },
    {
      path: "Ops/credentials.kdbx",
      code: "unreadable",
      what: "Pushdeck could not read the file: permission denied.",
      whatToDo: "Give your user read access to the file, or exclude it if it should stay private.",
      atMs: now - 3 * 3_600_000,
    },
    {
      path: "Legacy/old-portal.html",
      code: "rejected",
      what: "Coveo rejected the item: the permission set names the group 'ghost-team', which no provider knows.",
      whatToDo: "Fix the folder rule in Permissions (or add the group to the identities), then retry.",
      atMs: now - 3 * 3_600_000,
    },
  ];
  addRecord(
    "Scans archive",
    "/mnt/nas/scans",
    { kind: "paused", reason: null },
    makeFiles(4, ["2023", "2024", "2025"], 5_400, now),
    [{ path: "", rule: { kind: "only", identities: [group("Editors")] }, mode: "replace" }],
    // The only writer of its own source: its rebuild removes every item of "scans" it did not push.
    { lastSyncAtMs: now - 9 * 86_400_000, sourceId: "scans", ownsSource: true },
  );
  if (options.largeModelIdentities > 0) {
    const large = largeModel(options.largeModelIdentities);
    identities = identities.concat(large.identities);
    addRecord("Large organization", "/srv/large", { kind: "upToDate", problems: 0 }, makeFiles(5, ["", "Shared"], 40, now), [
      { path: "", rule: { kind: "complete", model: large.model }, mode: "replace" },
    ]);
  }

  // ---- activity -------------------------------------------------------------------------
  const activity: ActivityEntry[] = [];
  let nextActivity = 1;
  function log(kind: ActivityKind, message: string, count: number, folderId: string | null, atMs = Date.now()) {
    const entry: ActivityEntry = { id: nextActivity++, atMs, kind, folderId, message, count };
    activity.push(entry);
    return entry;
  }
  {
    const random = seeded(7);
    const n = options.activityLines;
    for (let i = 0; i < n; i++) {
      const at = now - (n - i) * (3_600_000 / Math.max(n, 1)) * (0.6 + random() * 0.8);
      const roll = random();
      if (roll < 0.08) log("failed", "Legacy/old-portal.html was rejected: unknown group 'ghost-team'", 1, "f3", at);
      else if (roll < 0.16) {
        const count = 1 + Math.floor(random() * 4);
        log("deleted", `Deleted ${items(count)} from Policies`, count, "f1", at);
      }
      else if (roll < 0.2) log("identities", "Pushed 12 security identities to provider sandbox", 12, null, at);
      else {
        const count = 1 + Math.floor(random() * 40);
        const policies = random() < 0.5;
        log("pushed", `Pushed ${items(count)} from ${policies ? "Policies" : "Engineering wiki"}`, count, policies ? "f1" : "f3", at);
      }
    }
    activity.sort((a, b) => a.atMs - b.atMs);
    activity.forEach((entry, i) => (entry.id = i + 1));
    nextActivity = activity.length + 1;
  }

  // ---- simulation -----------------------------------------------------------------------
  function publish(record: FolderRecord) {
    emit({ kind: "folder", folder: structuredClone(record.summary) });
  }

  function startSync(record: FolderRecord, files: FakeFile[]) {
    record.queue = files.slice();
    const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
    record.summary.state = files.length
      ? { kind: "syncing", done: 0, total: files.length, bytes: 0, bytesTotal, etaSeconds: files.length / record.rate }
      : { kind: "upToDate", problems: 0 };
    if (!files.length) record.summary.lastSyncAtMs = Date.now();
    publish(record);
  }

  function startScan(record: FolderRecord, changed: FakeFile[]) {
    record.summary.state = { kind: "scanning", filesSeen: 0 };
    publish(record);
    scans.set(record.summary.id, changed);
  }
  const scans = new Map<string, FakeFile[]>();
  const carry = new Map<string, number>();

  function tick() {
    for (const record of folders.values()) {
      const state = record.summary.state;
      if (state.kind === "scanning") {
        const seen = Math.min(record.files.length, (state.filesSeen ?? 0) + Math.max(25, Math.ceil(record.files.length / 12)));
        if (seen >= record.files.length) {
          startSync(record, scans.get(record.summary.id) ?? []);
          scans.delete(record.summary.id);
        } else {
          record.summary.state = { kind: "scanning", filesSeen: seen };
          publish(record);
        }
      } else if (state.kind === "syncing") {
        const budget = (carry.get(record.summary.id) ?? 0) + (record.rate * TICK_MS) / 1000;
        const n = Math.floor(budget);
        carry.set(record.summary.id, budget - n);
        if (n === 0) continue;
        const batch = record.queue.splice(0, n);
        let bytes = 0;
        for (const file of batch) bytes += file.size;
        // Like the real host: item outcomes as counts per folder, once per tick.
        if (batch.length) emit({ kind: "items", folderId: record.summary.id, pushed: batch.length, deleted: 0, indexed: 0, rejected: 0, failed: 0 });
        const done = state.done + batch.length;
        if (batch.length) emit({ kind: "activity", entry: log("pushed", `Pushed ${items(batch.length)} from ${record.summary.name}`, batch.length, record.summary.id) });
        if (record.queue.length === 0) {
          record.summary.state = { kind: "upToDate", problems: 0 };
          record.summary.lastSyncAtMs = Date.now();
          record.summary.itemCount = Math.max(record.summary.itemCount, record.files.length);
        } else {
          record.summary.state = {
            ...state,
            done,
            bytes: state.bytes + bytes,
            etaSeconds: (state.total - done) / record.rate,
          };
        }
        publish(record);
      }
    }
  }
  setInterval(tick, TICK_MS);

  // ---- permissions helpers ---------------------------------------------------------------
  function record(folderId: string): FolderRecord {
    return folders.get(folderId) ?? fail("notFound", "This folder is no longer synced. Pick another one.");
  }

  /** The effective model of a path: the rules of its folders from the root down, each
   *  replacing what it inherits or adding its level before or after (permissions::rules). */
  function modelFor(r: FolderRecord, path: string, rules = r.rules): PermissionModelView {
    const applicable = rules
      .filter((e) => e.rule && (e.path === "" || path === e.path || path.startsWith(e.path + "/")))
      .sort((a, b) => a.path.length - b.path.length);
    let model = modelOfRule({ kind: "everyone" });
    for (const entry of applicable) {
      const own = modelOfRule(entry.rule!);
      if (entry.mode === "replace" || entry.path === "") model = own;
      else model = { complete: true, levels: entry.mode === "addLevelBefore" ? [...own.levels, ...model.levels] : [...model.levels, ...own.levels] };
    }
    return model;
  }

  // ---- access: every answer from the fixtures (answers.ts) ------------------------------------
  // A separate chunk, loaded a second after start (not to compete with the first paint) or on
  // the first access question, whichever comes first.
  let answerBook: Promise<AnswerBook> | null = null;
  const book = () =>
    (answerBook ??= import("./access-answers.json").then((m) => new AnswerBook(m.default as unknown as AccessFixture)));
  setTimeout(() => void book(), 1_000);
  /** The canonical key of the identity list, computed once per list (it may hold 1,000 identities). */
  let worldKey: { of: SecurityIdentity[]; key: string } | null = null;
  const currentWorld = () => {
    if (worldKey?.of !== identities) worldKey = { of: identities, key: canonical(identities) };
    return worldKey.key;
  };
  type Answer = Omit<AccessExplanation, "model">;
  /** Looks access questions up; a question not in the fixtures fails as `notFound`, saying so. */
  const notInFixtures: string[] = [];
  async function ask<T>(question: (answers: AnswerBook, world: string) => T): Promise<T> {
    const answers = await book();
    try {
      return question(answers, currentWorld());
    } catch (e) {
      if (e instanceof NotInFixtures) {
        notInFixtures.push(e.message);
        fail("notFound", e.message);
      }
      throw e;
    }
  }
  /** `user`'s answer for an item with the model of key `modelKey`. */
  const answerOf = (answers: AnswerBook, world: string, modelKey: string, user: string) =>
    answers.answerByKeys(world, modelKey, user) as Answer;
  /** The people "who can see" lists for the current identities (the rule preview's people). */
  function peopleOf(answers: AnswerBook, world: string): string[] {
    const name = answers.worldName(world);
    const people = name === undefined ? undefined : answers.people.get(name);
    if (!people) throw new NotInFixtures("the people of these identities are not there");
    return people;
  }

  function itemPreview(root: string, file: FakeFile, model: PermissionModelView): ItemPreview {
    const ext = fileType(file.path);
    const compressed = COMPRESSIBLE.has(ext) ? Math.round(file.size * 0.34) : Math.round(file.size * 0.97);
    const documentId = documentIdOf(root, file.path);
    const title = titleOf(file.path);
    const modified = new Date(file.modifiedMs).toISOString();
    const metadata = [
      { name: "fileextension", value: "." + ext },
      { name: "filetype", value: ext },
      { name: "modifieddate", value: modified },
      { name: "folder", value: file.path.includes("/") ? file.path.slice(0, file.path.lastIndexOf("/")) : "/" },
      { name: "source", value: "pushdeck" },
    ];
    const body = {
      documentId,
      title,
      ...Object.fromEntries(metadata.map((m) => [m.name, m.value])),
      compressedBinaryData: `<${compressed.toLocaleString("en-US")} bytes, base64 of the ZLIB-compressed file>`,
      compressionType: "ZLIB",
      permissions: wirePermissions(model),
    };
    return {
      documentId,
      title,
      fileName: file.path.slice(file.path.lastIndexOf("/") + 1),
      size: file.size,
      compressedSize: compressed,
      compression: "zlib",
      metadata,
      permissions: model,
      json: JSON.stringify(body, null, 2),
    };
  }

  function tree(r: FolderRecord, visible: ((file: FakeFile) => boolean) | null): TreeNode {
    const root: TreeNode = { name: r.summary.name, path: "", isDir: true, visible: null, visibleFiles: 0, totalFiles: 0, children: [] };
    const dirs = new Map<string, TreeNode>([["", root]]);
    const dirOf = (path: string): TreeNode => {
      const existing = dirs.get(path);
      if (existing) return existing;
      const parent = dirOf(path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
      const node: TreeNode = { name: path.slice(path.lastIndexOf("/") + 1), path, isDir: true, visible: null, visibleFiles: 0, totalFiles: 0, children: [] };
      parent.children.push(node);
      dirs.set(path, node);
      return node;
    };
    for (const file of r.files) {
      const dirPath = file.path.includes("/") ? file.path.slice(0, file.path.lastIndexOf("/")) : "";
      const dir = dirOf(dirPath);
      const seen = visible ? visible(file) : null;
      dir.children.push({ name: file.path.slice(file.path.lastIndexOf("/") + 1), path: file.path, isDir: false, visible: seen, visibleFiles: seen ? 1 : 0, totalFiles: 1, children: [] });
    }
    const total = (node: TreeNode): void => {
      if (!node.isDir) return;
      node.children.forEach(total);
      node.children.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
      node.totalFiles = node.children.reduce((s, c) => s + c.totalFiles, 0);
      node.visibleFiles = node.children.reduce((s, c) => s + c.visibleFiles, 0);
      node.visible = visible ? node.visibleFiles === node.totalFiles && node.totalFiles > 0 : null;
    };
    total(root);
    return root;
  }

  // ---- test uploads and the Sandbox ---------------------------------------------------------
  const testItems = new Map<string, TestItem>();
  const uploads = new Map<string, TestUpload>();
  let nextPreview = 1;
  let nextUpload = 1;
  /** What the fake's "native file dialog" returns; null: a browser, which has none. */
  let nativePick: DroppedFile[] | null = null;
  const indexedTestItems: SandboxItemDetail[] = [];
  const sandboxModels = [
    modelOfRule({ kind: "everyone" }),
    modelOfRule({ kind: "only", identities: [group("HR")] }),
    workedExampleModel(),
    modelOfRule({ kind: "everyoneExcept", identities: [group("Contractors")] }),
  ];
  const SANDBOX_WORDS = ["Quarterly report", "Travel policy", "Onboarding guide", "Security review", "Meeting minutes", "Product brief", "Incident postmortem", "Budget plan"];
  function sandboxItem(i: number): SandboxItemSummary {
    const ext = ["pdf", "docx", "html", "txt"][i % 4];
    return {
      documentId: `file:///sandbox/documents/doc-${String(i).padStart(6, "0")}.${ext}`,
      title: `${SANDBOX_WORDS[i % SANDBOX_WORDS.length]} ${Math.floor(i / SANDBOX_WORDS.length) + 1}`,
      size: 1_000 + ((i * 7919) % 900_000),
      fileType: ext,
      indexedAtMs: now - i * 37_000,
    };
  }

  function stageUpload(upload: TestUpload, stage: UploadStage, detail: string, reason: string | null = null) {
    upload.stage = stage;
    upload.reason = reason;
    upload.steps.push({ stage, atMs: Date.now(), detail });
    emit({ kind: "testUpload", upload: structuredClone(upload) });
  }

  const host: Host = {
    kind: "fake",

    async getAppState() {
      return structuredClone(appState);
    },
    async dismissWelcome() {
      appState = { ...appState, firstLaunch: false };
      return structuredClone(appState);
    },
    async pauseAll() {
      // When a pause ends is the shell's rule (src-tauri/src/companion.rs); the fake has no tray.
      return fail("invalidInput", "Pause all is in the tray menu of the desktop app; the browser's fake host has no tray.");
    },
    async resumeAll() {
      // Nothing can be paused here (see pauseAll): resuming changes nothing.
      return structuredClone(appState);
    },
    async trayState() {
      // The fake has no tray; the real line is the shell's (src-tauri/src/companion.rs).
      return { line: "Fake host: no tray", tooltip: "Pushdeck", attention: false, paused: false };
    },
    async getAutostart() {
      return autostart;
    },
    async setAutostart({ enabled }) {
      autostart = enabled;
      return autostart;
    },
    async autostartOffered() {
      appState = { ...appState, autostartOffered: true };
      return structuredClone(appState);
    },
    async useSandbox() {
      appState = { ...appState, mode: "sandbox", connection: null };
      return structuredClone(appState);
    },
    async listCatalog(request) {
      checkForm(request);
      await delay(150);
      return {
        sources: [
          { id: "acme-documents", name: "Documents (Push)" },
          { id: "acme-intranet", name: "Intranet (Push)" },
        ],
        providers: [{ id: "acme-identities", name: "Acme identities" }],
      };
    },
    async testConnection(request) {
      checkForm(request);
      await delay(300);
      return connectionTest(request);
    },
    async connect(request) {
      checkForm(request);
      if (request.keyStorage === "keyring" && !appState.keyringAvailable) {
        fail("keyringUnavailable", "No keyring is available on this computer, so the key cannot be stored. You can keep it for this run only: you will type it again next time.");
      }
      const test = connectionTest(request);
      if (!test.ok) fail("unauthorized", test.summary);
      appState = {
        ...appState,
        mode: "organization",
        firstLaunch: false,
        connection: {
          organizationId: request.organizationId.trim(),
          region: request.region,
          sourceId: request.source.kind === "existing" ? request.source.id : request.source.name,
          providerId: request.provider.kind === "existing" ? request.provider.id : request.provider.name,
          keyStorage: request.keyStorage,
        },
      };
      emit({ kind: "activity", entry: log("info", `Connected to organization ${request.organizationId.trim()}`, 0, null) });
      return structuredClone(appState);
    },

    async listFolders() {
      return [...folders.values()].map((r) => structuredClone(r.summary));
    },
    async pickFolder() {
      await delay(50);
      const n = nextFolder;
      return { path: `/home/you/Documents/Projects-${n}`, suggestedName: `Projects ${n}` };
    },
    async addFolder(request) {
      if (!request.name.trim()) fail("invalidInput", "Give the folder a name.");
      if ([...folders.values()].some((r) => r.summary.path === request.path)) {
        fail("conflict", `${request.path} is already synced.`);
      }
      const r = addRecord(request.name.trim(), request.path, { kind: "paused", reason: FIRST_PLAN }, makeFiles(nextFolder * 13, ["", "Notes", "Archive"], 60, Date.now()), [
        { path: "", rule: { kind: "everyone" }, mode: "replace" },
      ], { awaitingFirstSync: true, lastSyncAtMs: null, itemCount: 0, include: request.include, exclude: request.exclude, sourceId: request.sourceId });
      publish(r);
      emit({ kind: "activity", entry: log("info", `Added folder ${r.summary.name} (${r.summary.path})`, 0, r.summary.id) });
      return structuredClone(r.summary);
    },
    async addSampleFolder() {
      const existing = [...folders.values()].find((r) => r.summary.name === "Sample folder");
      if (existing) return structuredClone(existing.summary);
      const r = addSampleRecord();
      publish(r);
      emit({ kind: "activity", entry: log("info", `Added folder ${r.summary.name} (${r.summary.path})`, 0, r.summary.id) });
      return structuredClone(r.summary);
    },
    async folderAction({ folderId, action }) {
      const r = record(folderId);
      switch (action) {
        case "pause":
          r.queue = [];
          r.summary.state = { kind: "paused", reason: null };
          break;
        case "resume":
          if (r.summary.awaitingFirstSync) fail("conflict", "Review the plan and confirm the first sync before resuming.");
          startScan(r, r.files.slice(0, 8));
          return null;
        case "rescan":
          if (r.summary.awaitingFirstSync) fail("conflict", "Review the plan and confirm the first sync first.");
          startScan(r, r.files.slice(0, 5));
          return null;
        case "rebuild":
          if (r.summary.awaitingFirstSync) fail("conflict", "Nothing to rebuild yet: confirm the first sync.");
          startScan(r, r.files);
          return null;
        case "remove":
          folders.delete(folderId);
          emit({ kind: "folderRemoved", folderId });
          emit({ kind: "activity", entry: log("info", `Stopped syncing ${r.summary.name}; its items stay in the source`, 0, folderId) });
          return null;
      }
      publish(r);
      return null;
    },
    async planFolder({ folderId }) {
      const r = record(folderId);
      await delay(120);
      const first = r.summary.awaitingFirstSync;
      const files = visibleFiles(r);
      const added = first ? files.length : 3;
      const updated = first ? 0 : 5;
      const deleted = first ? 0 : 1;
      const bytes = first ? files.reduce((s, f) => s + f.size, 0) : files.slice(0, 8).reduce((s, f) => s + f.size, 0);
      const sampleFile = files[0];
      const plan: SyncPlan = {
        planId: `plan-${folderId}-${Date.now()}`,
        folderId,
        added,
        updated,
        deleted,
        moved: first ? 0 : 1,
        unchanged: files.length - added - updated,
        skipped: r.files.length - files.length,
        bytes,
        sample: sampleFile ? itemPreview(r.summary.path, sampleFile, modelFor(r, sampleFile.path)) : null,
        warnings: [],
      };
      return plan;
    },
    async confirmPlan({ folderId }) {
      const r = record(folderId);
      r.summary.awaitingFirstSync = false;
      startScan(r, visibleFiles(r));
      emit({ kind: "activity", entry: log("info", `First sync of ${r.summary.name} confirmed`, 0, folderId) });
      return null;
    },
    async previewPatterns(request) {
      const r = [...folders.values()].find((f) => f.summary.path === request.path);
      const files = r?.files ?? makeFiles(99, ["", "Notes", "Archive", "Drafts"], 60, now);
      return matchPatterns(files, request.include, request.exclude, request.limit);
    },
    async savePatterns({ folderId, include, exclude }) {
      const r = record(folderId);
      const preview = matchPatterns(r.files, include, exclude, 0);
      if (preview.problems.length) fail("invalidInput", `The pattern ${preview.problems[0].pattern} is not valid: ${preview.problems[0].message}`);
      r.summary.include = include;
      r.summary.exclude = exclude;
      publish(r);
      return structuredClone(r.summary);
    },
    async listProblems({ folderId }) {
      return structuredClone(record(folderId).problems);
    },
    async retryProblems({ folderId }) {
      const r = record(folderId);
      const retried = r.problems.length;
      r.problems = [];
      startSync(r, r.files.slice(0, retried));
      return null;
    },

    async listIdentities() {
      return structuredClone(identities);
    },
    async saveIdentities({ identities: next }) {
      const names = new Set<string>();
      for (const identity of next) {
        if (!identity.name.trim()) fail("invalidInput", "Every identity needs a name.");
        if (names.has(identity.name.toLowerCase())) fail("invalidInput", `${identity.name} appears twice; names must be unique.`);
        names.add(identity.name.toLowerCase());
      }
      identities = structuredClone(next);
      return null;
    },
    async importIdentitiesCsv({ text }) {
      return parseCsv(text);
    },
    async pushIdentities() {
      await delay(200);
      const pushed = identities.length;
      emit({ kind: "activity", entry: log("identities", `Pushed ${pushed} security identities to provider sandbox`, pushed, null) });
      return { pushed, message: `${pushed} security identities were sent to the provider. Coveo applies them within a few minutes.` };
    },
    async listRules({ folderId }) {
      const r = record(folderId);
      const dirs = new Set<string>([""]);
      for (const file of r.files) {
        const parts = file.path.split("/");
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
      }
      return [...dirs].sort().map((path) => {
        const entry = r.rules.find((e) => e.path === path);
        return { path, rule: entry?.rule ?? null, mode: entry?.mode ?? "replace" };
      });
    },
    async previewRule({ folderId, path, rule, mode }) {
      const r = record(folderId);
      const next = r.rules.filter((e) => e.path !== path).concat(rule ? [{ path, rule, mode }] : []);
      const affected = r.files.filter((f) => path === "" || f.path === path || f.path.startsWith(path + "/"));
      // Distinct (before, after) pairs of models over the affected files; each person's
      // visibility under each model comes from the fixtures.
      const pairs = new Map<string, [string, string]>();
      let filesChanged = 0;
      for (const f of affected) {
        const [was, will] = [canonical(modelFor(r, f.path)), canonical(modelFor(r, f.path, next))];
        if (was === will) continue;
        filesChanged++;
        pairs.set(`${was}\u0000${will}`, [was, will]);
      }
      const { gains, loses } = await ask((answers, world) => {
        const gains = new Set<string>();
        const loses = new Set<string>();
        for (const person of peopleOf(answers, world)) {
          for (const [was, will] of pairs.values()) {
            const before = answerOf(answers, world, was, person).visible;
            const after = answerOf(answers, world, will, person).visible;
            if (!before && after) gains.add(person);
            if (before && !after) loses.add(person);
          }
        }
        return { gains, loses };
      });
      return {
        gains: [...gains].sort(),
        loses: [...loses].sort(),
        filesAffected: affected.length,
        model: modelFor(r, path, next),
        filesChanged,
      };
    },
    async saveRule({ folderId, path, rule, mode }) {
      const r = record(folderId);
      if (rule && rule.kind !== "everyone" && rule.kind !== "complete" && rule.identities.length === 0) {
        fail("invalidInput", "Pick at least one group or user for this rule.");
      }
      r.rules = r.rules.filter((e) => e.path !== path).concat(rule ? [{ path, rule, mode }] : []);
      emit({ kind: "activity", entry: log("info", `Changed the permission rule of ${r.summary.name}/${path}`, 0, folderId) });
      return null;
    },
    async permissionModel({ folderId, path }) {
      return structuredClone(modelFor(record(folderId), path));
    },
    async explainAccess({ folderId, path, user }) {
      const model = modelFor(record(folderId), path);
      const answer = await ask((answers, world) => answerOf(answers, world, canonical(model), user));
      return { ...structuredClone(answer), model };
    },
    async whoCanSee({ folderId, path }) {
      const model = canonical(modelFor(record(folderId), path));
      return ask((answers, world) => structuredClone(answers.answerByKeys(world, model, undefined, true) as UserAccess[]));
    },
    async whatCanUserSee({ folderId, user }) {
      const r = record(folderId);
      const models = new Map(r.files.map((f) => [f.path, canonical(modelFor(r, f.path))]));
      const seen = await ask((answers, world) => {
        const byModel = new Map<string, boolean>();
        for (const key of new Set(models.values())) byModel.set(key, answerOf(answers, world, key, user).visible);
        return byModel;
      });
      return tree(r, (file) => seen.get(models.get(file.path)!)!);
    },

    async prepareTestItems({ files }) {
      if (files.length === 0) fail("invalidInput", "Drop at least one file.");
      return files.map((dropped) => {
        const file: FakeFile = { path: dropped.name, size: dropped.size, modifiedMs: Date.now() };
        // A file with a path (the desktop's drop or dialog) is named by where it is.
        const slash = dropped.path ? dropped.path.lastIndexOf("/") : -1;
        const root = slash > 0 ? dropped.path!.slice(0, slash) : "/home/you/Desktop";
        const item: TestItem = {
          previewId: `p${nextPreview++}`,
          item: itemPreview(root, file, modelOfRule({ kind: "everyone" })),
        };
        testItems.set(item.previewId, item);
        return structuredClone(item);
      });
    },
    async pickFiles() {
      return structuredClone(nativePick);
    },
    async pushTestItem({ previewId, target }) {
      const item = testItems.get(previewId) ?? fail("notFound", "This test item is gone; drop the file again.");
      // Whether the target source may take a test upload (a folder owning it refuses) is a rule
      // of the real host (src-tauri/tests/uploads.rs); the fake covers the flow only.
      const upload: TestUpload = {
        uploadId: `u${nextUpload++}`,
        previewId,
        documentId: item.item.documentId,
        target,
        stage: "requested",
        steps: [{ stage: "requested", atMs: Date.now(), detail: `PUT /push/v1/organizations/sandbox/sources/documents/documents?documentId=${item.item.documentId}` }],
        reason: null,
      };
      uploads.set(upload.uploadId, upload);
      setTimeout(() => {
        stageUpload(upload, "accepted", `202 Accepted: queued with orderingId ${Date.now()}. Not searchable yet.`);
        setTimeout(() => {
          const ext = fileType(item.item.fileName);
          if (["exe", "dll", "bin"].includes(ext)) {
            stageUpload(upload, "rejected", "Source logs: REJECTED", `Coveo does not index .${ext} files (source logs: the converter refused the file type). Zip it with a readme, or leave it out.`);
          } else if (item.item.size > 256 * 1024 * 1024) {
            stageUpload(upload, "rejected", "Source logs: REJECTED", "The item is larger than 256 MB, the most one item may be.");
          } else {
            stageUpload(upload, "indexed", "Source logs: INDEXED. The item is searchable.");
            indexedTestItems.unshift({
              summary: { documentId: item.item.documentId, title: item.item.title, size: item.item.size, fileType: ext, indexedAtMs: Date.now() },
              orderingId: Date.now(),
              metadata: item.item.metadata,
              permissions: item.item.permissions,
              content: `(test upload) ${item.item.fileName}`,
            });
          }
        }, 700);
      }, 250);
      emit({ kind: "activity", entry: log("info", `Test upload of ${item.item.fileName} requested`, 1, null) });
      return structuredClone(upload);
    },
    async deleteTestItems() {
      let deleted = 0;
      for (const upload of uploads.values()) {
        if (upload.stage === "indexed" || upload.stage === "accepted") {
          stageUpload(upload, "deleted", "DELETE accepted (202): the item is removed from the index.");
          deleted++;
        }
      }
      indexedTestItems.length = 0;
      if (deleted) emit({ kind: "activity", entry: log("deleted", `Deleted ${deleted} test ${deleted === 1 ? "item" : "items"}`, deleted, null) });
      return { deleted };
    },

    async listActivity({ afterId, beforeId, limit }) {
      // ids are 1..n in time order, so an id is its position plus one
      if (afterId != null) return activity.slice(afterId, afterId + limit);
      const end = beforeId != null ? Math.max(0, Math.min(activity.length, beforeId - 1)) : activity.length;
      return activity.slice(Math.max(0, end - limit), end);
    },
    async listSandboxItems({ offset, limit, text, asUser }) {
      const words = text.trim().toLowerCase();
      // Search as: each of the Sandbox's models answered for the user from the fixtures.
      const visibleModel = asUser
        ? await ask((answers, world) => sandboxModels.map((m) => answerOf(answers, world, canonical(m), asUser).visible))
        : [];
      const passes = (i: number) => {
        if (words && !sandboxItem(i).title.toLowerCase().includes(words)) return false;
        return asUser ? visibleModel[i % sandboxModels.length] : true;
      };
      const tests = indexedTestItems.map((d) => d.summary).filter((s) => !words || s.title.toLowerCase().includes(words));
      const filtered = !words && !asUser;
      const total = tests.length + (filtered ? options.sandboxItems : countPassing(passes));
      const items: SandboxItemSummary[] = [];
      for (let k = offset; k < Math.min(total, offset + limit); k++) {
        if (k < tests.length) items.push(tests[k]);
        else if (filtered) items.push(sandboxItem(k - tests.length));
      }
      if (!filtered && items.length < limit) {
        // walk the generated items that pass, skipping `offset - tests.length` of them
        let skip = Math.max(0, offset - tests.length);
        for (let i = 0; i < options.sandboxItems && items.length < limit; i++) {
          if (!passes(i)) continue;
          if (skip > 0) {
            skip--;
            continue;
          }
          items.push(sandboxItem(i));
        }
      }
      return { total, offset, items };
    },
    async getSandboxItem({ documentId }) {
      const test = indexedTestItems.find((d) => d.summary.documentId === documentId);
      if (test) return structuredClone(test);
      const match = /doc-(\d+)\./.exec(documentId);
      if (!match) fail("notFound", "This item is not in the Sandbox any more.");
      const i = Number(match![1]);
      const summary = sandboxItem(i);
      return {
        summary,
        orderingId: 1_700_000_000_000 + i,
        metadata: [
          { name: "filetype", value: summary.fileType },
          { name: "author", value: ["asmith", "bjones", "emitchell"][i % 3] + "@example.com" },
          { name: "source", value: "documents" },
        ],
        permissions: sandboxModels[i % sandboxModels.length],
        content: `${summary.title}\n\nThis is the decoded text of item ${i} as the Sandbox indexed it. ` +
          "It would hold the words found in the document, which search uses to match queries.",
      };
    },

    async listen(handler): Promise<Unlisten> {
      listeners.add(handler);
      return () => listeners.delete(handler);
    },
    async listenFileDrops(): Promise<Unlisten> {
      return () => {};
    },
  };

  function countPassing(passes: (i: number) => boolean): number {
    let n = 0;
    for (let i = 0; i < options.sandboxItems; i++) if (passes(i)) n++;
    return n;
  }

  function visibleFiles(r: FolderRecord): FakeFile[] {
    return r.files.filter((f) => passesPatterns(f.path, r.summary.include, r.summary.exclude));
  }

  function checkForm(request: ConnectionRequest) {
    if (!request.organizationId.trim()) fail("invalidInput", "Type the organization id (for example acmecorpproduction1x2y3z).");
    if (!request.apiKey.trim()) fail("invalidInput", "Paste the API key created in the Coveo Administration Console.");
  }

  function connectionTest(request: ConnectionRequest): ConnectionTest {
    const key = request.apiKey.trim();
    const org = request.organizationId.trim();
    if (!key.startsWith("xx") || key.length < 16) {
      return {
        ok: false,
        summary: "Coveo refused the API key: it is not a key of this organization, or it was disabled.",
        checks: [{ label: `Reach organization ${org}`, ok: false, detail: "401 Unauthorized. Check the key and the region." }],
      };
    }
    const canPush = !key.includes("readonly");
    return {
      ok: canPush,
      summary: canPush
        ? "Everything works: the key can push items and security identities."
        : "The key can read sources but cannot push: give it the privilege Content > Sources > Edit.",
      checks: [
        { label: `Reach organization ${org} (${request.region.toUpperCase()})`, ok: true, detail: "The organization answered." },
        { label: "Read sources", ok: true, detail: "The key lists 2 sources." },
        { label: "Push items", ok: canPush, detail: canPush ? "Allowed." : "Missing: Content > Sources > Edit." },
        { label: "Push security identities", ok: canPush, detail: canPush ? "Allowed." : "Missing: Content > Security identity providers > Edit." },
      ],
    };
  }

  // Hooks for tests and benchmarks (fake host only).
  const hooks = {
    /** Emits `count` item events and progress for the first folder, in bursts of `burst` every `everyMs`. */
    streamItems(count: number, burst = 100, everyMs = 10): Promise<void> {
      const r = [...folders.values()][0];
      const total = count;
      let done = 0;
      r.summary.state = { kind: "syncing", done: 0, total, bytes: 0, bytesTotal: total * 50_000, etaSeconds: null };
      return new Promise((resolve) => {
        const timer = setInterval(() => {
          // Like the real host: one `items` count per burst, an `item` only for a failure
          // (with its reason), and the card's latest state once.
          let pushed = 0;
          let failures = 0;
          for (let k = 0; k < burst && done < total; k++, done++) {
            const failed = done % 500 === 499;
            if (failed) {
              failures++;
              emit({ kind: "item", folderId: r.summary.id, path: `stream/file-${done}.txt`, outcome: "failed", bytes: 0, detail: "Pushdeck could not read the file: permission denied." });
            } else pushed++;
          }
          emit({ kind: "items", folderId: r.summary.id, pushed, deleted: 0, indexed: 0, rejected: 0, failed: failures });
          r.summary.state = { kind: "syncing", done, total, bytes: done * 50_000, bytesTotal: total * 50_000, etaSeconds: ((total - done) * everyMs) / burst / 1000 };
          publish(r);
          emit({ kind: "activity", entry: log("pushed", `Pushed ${burst} items from ${r.summary.name}`, burst, r.summary.id) });
          if (done >= total) {
            clearInterval(timer);
            r.summary.state = { kind: "upToDate", problems: 0 };
            r.summary.lastSyncAtMs = Date.now();
            publish(r);
            resolve();
          }
        }, everyMs);
      });
    },
    /** Makes pickFiles act as the desktop's native dialog, returning these files (null: none). */
    nativeFilePicker(files: DroppedFile[] | null) {
      nativePick = files;
    },
    /** The access questions answered "not in the fixtures" so far (their messages). */
    notInFixtures,
    attention(folderId: string) {
      const r = record(folderId);
      r.summary.state = { kind: "needsAttention", problems: r.problems.length || 1, reasons: ["A safety brake stopped the run: it would delete 80% of the items."] };
      publish(r);
      emit({ kind: "attention", folderId, problems: r.problems.length || 1, message: `${r.summary.name} needs attention` });
    },
  };
  (window as unknown as { __pushdeckFake: typeof hooks }).__pushdeckFake = hooks;

  return host;
}

function passesPatterns(path: string, include: string[], exclude: string[]): boolean {
  const inc = include.filter((p) => p.trim());
  const exc = exclude.filter((p) => p.trim());
  const matches = (pattern: string) => {
    const re = globToRegExp(pattern.trim());
    return re !== null && re.test(path);
  };
  if (inc.length && !inc.some(matches)) return false;
  return !exc.some(matches);
}

function matchPatterns(files: FakeFile[], include: string[], exclude: string[], limit: number) {
  const problems = [...include, ...exclude]
    .filter((p) => p.trim() && globToRegExp(p.trim()) === null)
    .map((pattern) => ({ pattern, message: "a [ is not closed by ]" }));
  const matched: string[] = [];
  let matchedCount = 0;
  for (const file of files) {
    if (passesPatterns(file.path, include, exclude)) {
      matchedCount++;
      if (matched.length < limit) matched.push(file.path);
    }
  }
  return {
    matched,
    matchedCount,
    excludedCount: files.length - matchedCount,
    totalCount: files.length,
    problems,
  };
}

function parseCsv(text: string) {
  const identities: SecurityIdentity[] = [];
  const problems: { line: number; message: string }[] = [];
  const kinds: Record<string, SecurityIdentity["kind"]> = { user: "user", group: "group", virtualgroup: "virtualGroup" };
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (!raw.trim() || (index === 0 && /^name\s*,/i.test(raw))) return;
    const [name = "", kind = "", members = "", aliases = ""] = raw.split(",").map((c) => c.trim());
    const k = kinds[kind.toLowerCase().replace(/[_\s-]/g, "")];
    if (!name) return problems.push({ line, message: "The name is empty." });
    if (!k) return problems.push({ line, message: `"${kind}" is not a kind; use user, group or virtualGroup.` });
    identities.push({
      name,
      kind: k,
      members: members ? members.split(";").map((m) => m.trim()).filter(Boolean).map((m) => ({ name: m, kind: m.includes("@") ? "user" : "group" })) : [],
      aliases: aliases ? aliases.split(";").map((a) => a.trim()).filter(Boolean) : [],
    });
  });
  return { identities, problems };
}
