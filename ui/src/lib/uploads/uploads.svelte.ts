// Test uploads: the items prepared from dropped files, and the uploads being followed.

import type { DroppedFile, TestItem, TestUpload } from "../../ipc";

export const uploads = $state({
  items: [] as TestItem[],
  /** The latest upload per preview id. */
  byPreview: {} as Record<string, TestUpload>,
});

/** The files of a DOM drop or file input. A page never learns paths: the shell gets them
 *  from its own drop event (Host.listenFileDrops) instead. */
export function droppedFiles(data: DataTransfer | FileList | null | undefined): DroppedFile[] {
  const files = data instanceof FileList ? data : data?.files;
  return Array.from(files ?? []).map((f) => ({ name: f.name, size: f.size, path: null, mediaType: f.type || null }));
}

export function applyUploads(updates: Map<string, TestUpload>): void {
  for (const upload of updates.values()) uploads.byPreview[upload.previewId] = upload;
}
