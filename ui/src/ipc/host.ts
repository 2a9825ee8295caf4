// The host seam: everything the UI asks of the outside world goes through `Host`.
// Two implementations: `TauriHost` (the desktop shell, over invoke + one event channel) and
// `FakeHost` (in memory, for the browser, the tests and `npm run dev`).
// Contract: every call resolves with its DTO or rejects with a `HostFailure` carrying the
// shell's `{code, message}`; the UI shows `message` and switches on `code`, never on text.
// Events arrive in order on one listener; calls may run concurrently.

import type {
  AccessChange,
  AccessExplanation,
  ActivityEntry,
  ActivityQuery,
  AddFolderRequest,
  AppState,
  AutostartRequest,
  ConfirmPlanRequest,
  ConnectionRequest,
  ConnectionTest,
  CsvImport,
  CsvImportRequest,
  DeletedCount,
  DocumentRef,
  DroppedFile,
  ErrorCode,
  ExplainRequest,
  FileRef,
  FolderActionRequest,
  FolderRef,
  FolderSummary,
  HostError,
  HostEvent,
  IdentityPushResult,
  ItemProblem,
  OrganizationCatalog,
  PauseAllRequest,
  PatternPreview,
  PatternRequest,
  PermissionModelView,
  PickedFolder,
  PrepareTestItemsRequest,
  PushTestItemRequest,
  RuleChangeRequest,
  RuleEntry,
  SandboxItemDetail,
  SandboxPage,
  SandboxQuery,
  SavePatternsRequest,
  SaveIdentitiesRequest,
  SecurityIdentity,
  SyncPlan,
  TestItem,
  TestUpload,
  TrayState,
  TreeNode,
  UserAccess,
  UserRequest,
} from "./bindings";

export type * from "./bindings";

/** A rejected host call: the shell's `{code, message}`. */
export class HostFailure extends Error {
  readonly code: ErrorCode;
  constructor(error: HostError) {
    super(error.message);
    this.name = "HostFailure";
    this.code = error.code;
  }
}

/** Turns anything a call rejected with into a HostFailure (the shell always sends `{code, message}`). */
export function toHostFailure(error: unknown): HostFailure {
  if (error instanceof HostFailure) return error;
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    return new HostFailure(error as HostError);
  }
  return new HostFailure({
    code: "internal",
    message: "Something unexpected happened in the app. Please report it with what you were doing.",
  });
}

export type Unlisten = () => void;

/** Files dragged over or dropped on the window, as the host sees them. */
export type FileDrop =
  | { kind: "over" }
  | { kind: "leave" }
  | { kind: "drop"; files: DroppedFile[] };

export interface Host {
  /** "tauri" or "fake": shown in the footer so nobody mistakes one for the other. */
  readonly kind: "tauri" | "fake";

  getAppState(): Promise<AppState>;
  dismissWelcome(): Promise<AppState>;
  /** Pauses every folder for an hour or until 08:00 tomorrow (the tray menu's "pause all"). */
  pauseAll(request: PauseAllRequest): Promise<AppState>;
  resumeAll(): Promise<AppState>;
  /** What the tray's state line says (the tray itself is outside the page). */
  trayState(): Promise<TrayState>;
  /** Whether Pushdeck starts when the person logs in. */
  getAutostart(): Promise<boolean>;
  setAutostart(request: AutostartRequest): Promise<boolean>;
  /** Records that the app offered to start at login (it offers once). */
  autostartOffered(): Promise<AppState>;
  useSandbox(): Promise<AppState>;
  listCatalog(request: ConnectionRequest): Promise<OrganizationCatalog>;
  testConnection(request: ConnectionRequest): Promise<ConnectionTest>;
  connect(request: ConnectionRequest): Promise<AppState>;

  listFolders(): Promise<FolderSummary[]>;
  /** Opens the native folder dialog; null when the person cancels. */
  pickFolder(): Promise<PickedFolder | null>;
  addFolder(request: AddFolderRequest): Promise<FolderSummary>;
  /** "Try the sample folder": the shipped sample, copied and added (waiting for its first plan),
   * with its identities pushed to the Sandbox; the folder as it is when it was added before. */
  addSampleFolder(): Promise<FolderSummary>;
  folderAction(request: FolderActionRequest): Promise<null>;
  planFolder(request: FolderRef): Promise<SyncPlan>;
  confirmPlan(request: ConfirmPlanRequest): Promise<null>;
  previewPatterns(request: PatternRequest): Promise<PatternPreview>;
  savePatterns(request: SavePatternsRequest): Promise<FolderSummary>;
  listProblems(request: FolderRef): Promise<ItemProblem[]>;
  retryProblems(request: FolderRef): Promise<null>;

  listIdentities(): Promise<SecurityIdentity[]>;
  saveIdentities(request: SaveIdentitiesRequest): Promise<null>;
  importIdentitiesCsv(request: CsvImportRequest): Promise<CsvImport>;
  pushIdentities(): Promise<IdentityPushResult>;
  listRules(request: FolderRef): Promise<RuleEntry[]>;
  previewRule(request: RuleChangeRequest): Promise<AccessChange>;
  saveRule(request: RuleChangeRequest): Promise<null>;
  permissionModel(request: FileRef): Promise<PermissionModelView>;
  explainAccess(request: ExplainRequest): Promise<AccessExplanation>;
  whoCanSee(request: FileRef): Promise<UserAccess[]>;
  whatCanUserSee(request: UserRequest): Promise<TreeNode>;

  /**
   * Opens the native multi-file dialog; the files chosen, with their paths (the shell may then
   * read them), [] when the person cancels. null when this host has no native dialog (a
   * browser): the page's own file input is used instead.
   */
  pickFiles(): Promise<DroppedFile[] | null>;
  prepareTestItems(request: PrepareTestItemsRequest): Promise<TestItem[]>;
  pushTestItem(request: PushTestItemRequest): Promise<TestUpload>;
  deleteTestItems(): Promise<DeletedCount>;

  listActivity(request: ActivityQuery): Promise<ActivityEntry[]>;
  listSandboxItems(request: SandboxQuery): Promise<SandboxPage>;
  getSandboxItem(request: DocumentRef): Promise<SandboxItemDetail>;

  /** Every HostEvent, in order. */
  listen(handler: (event: HostEvent) => void): Promise<Unlisten>;

  /**
   * Files dragged onto the window that the host delivers itself. The desktop webview hands
   * drops to Tauri (with real paths) instead of the page; a browser delivers them to the DOM,
   * so the fake never calls the handler and the page's own drop handlers do the work.
   */
  listenFileDrops(handler: (drop: FileDrop) => void): Promise<Unlisten>;
}
